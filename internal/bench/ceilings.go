package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Ceilings are what an ideal Go server and client reach on this machine,
// measured in the same run as the registries. Put, Get and Hello hold every
// measurement in run order (each round measures before the first target and
// after each one); the figures are their medians.
type Ceilings struct {
	// SHA256 is single-core sha256 speed, measured once at the start.
	SHA256 Throughput
	// Put is the large image PUT, Concurrency streams, to a server that
	// hashes and writes in one pass and fsyncs each file.
	Put []Throughput
	// Get is the large image GET, Concurrency streams, from a server that
	// answers with sendfile, the client verifying sha256.
	Get []Throughput
	// Hello is a trivial handler at ManifestConcurrency: one per round of
	// every manifest-get measurement.
	Hello []Rate
}

// PutMBps is the median PUT ceiling (0 when not measured).
func (c Ceilings) PutMBps() float64 { return medianOf(c.Put, Throughput.MBps) }

// GetMBps is the median GET ceiling (0 when not measured).
func (c Ceilings) GetMBps() float64 { return medianOf(c.Get, Throughput.MBps) }

// HelloPerSecond is the median hello ceiling (0 when not measured).
func (c Ceilings) HelloPerSecond() float64 { return medianOf(c.Hello, Rate.PerSecond) }

// figure returns the named ceiling's median figure (0 when unknown).
func (c Ceilings) figure(name string) float64 {
	switch name {
	case ceilPut:
		return c.PutMBps()
	case ceilGet:
		return c.GetMBps()
	case ceilHello:
		return c.HelloPerSecond()
	}
	return 0
}

// ceilingServer is the ideal server: it stores PUT bodies, serves the
// latest body PUT under each digest back, and says hello.
//
// Like a registry receiving new blobs, it writes every PUT to a new file
// and keeps it for the whole run. Overwriting or deleting earlier files
// would hand it blocks the filesystem has just freed, and on thin-provisioned
// VM disks rewriting those is several times faster than writing the blocks a
// registry gets (dd conv=fsync here: ~2.6 GB/s against ~0.66 GB/s): the
// ceiling would measure another disk.
type ceilingServer struct {
	dir string

	mu     sync.Mutex
	seq    int               // files written so far
	latest map[string]string // digest hex -> file of its latest PUT
}

// ceilingCopyBuffer is the PUT copy size, the registry's too.
const ceilingCopyBuffer = 1 << 20

func (s *ceilingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/hello" {
		w.Header()["Content-Type"] = []string{"text/plain"}
		io.WriteString(w, "hello")
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, "/v2/ceiling/blobs/sha256:")
	if !ok || len(name) != 64 || strings.Trim(name, "0123456789abcdef") != "" {
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodPut:
		s.mu.Lock()
		s.seq++
		path := filepath.Join(s.dir, name+"."+strconv.Itoa(s.seq))
		s.mu.Unlock()
		if err := s.put(path, name, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.latest[name] = path
		s.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	case http.MethodGet:
		s.mu.Lock()
		path, ok := s.latest[name]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		f, err := os.Open(path)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header()["Content-Length"] = []string{strconv.FormatInt(fi.Size(), 10)}
		w.Header()["Content-Type"] = []string{"application/octet-stream"}
		io.Copy(w, f) // the ResponseWriter's ReadFrom: sendfile
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// put hashes and writes body in one pass, fsyncs, and checks the digest.
func (s *ceilingServer) put(path, hexDigest string, body io.Reader) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	h := sha256.New()
	buf := make([]byte, ceilingCopyBuffer)
	_, err = io.CopyBuffer(io.MultiWriter(f, h), body, buf)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if hex.EncodeToString(h.Sum(nil)) != hexDigest {
		return errors.New("digest mismatch")
	}
	return nil
}

// serveCeiling runs the ideal server on ln, its files in dir, until ctx is
// done. `berth bench-ceiling` runs it in a process of its own, so that the
// ceilings are measured across two processes, as every registry is.
func serveCeiling(ctx context.Context, dir string, ln net.Listener) error {
	srv := &http.Server{Handler: &ceilingServer{dir: dir, latest: make(map[string]string)}, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("bench: ceiling server: %w", err)
	}
	return nil
}

// ceiling is the ideal server, up for the whole run, and a client of it.
type ceiling struct {
	dir  string
	stop func() // stops the server
	cl   *client
	// img is the image whose layers the server holds: the variant of the
	// last PUT round, which the GET rounds fetch.
	img *image
}

// startCeiling starts the ideal server on loopback, its files in a fresh
// directory under opts.CeilingDir: in a child process when
// opts.CeilingCommand is set, else in this one.
func startCeiling(ctx context.Context, o Options) (*ceiling, error) {
	dir, err := os.MkdirTemp(o.CeilingDir, "berth-bench-ceiling-")
	if err != nil {
		return nil, fmt.Errorf("bench: ceiling dir: %w", err)
	}
	var addr string
	var stop func()
	if len(o.CeilingCommand) > 0 {
		addr, stop, err = startCeilingProcess(ctx, o.CeilingCommand, dir)
	} else {
		addr, stop, err = startCeilingHere(dir)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c := &ceiling{dir: dir, stop: stop}
	c.cl, err = newClient(ctx, o, Target{Name: "ceiling", URL: "http://" + addr})
	if err != nil {
		c.close()
		return nil, err
	}
	c.cl.opts.Repository = "ceiling"
	return c, nil
}

func startCeilingHere(dir string) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("bench: ceiling server: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = serveCeiling(ctx, dir, ln)
	}()
	return ln.Addr().String(), func() { cancel(); <-done }, nil
}

// startCeilingProcess runs command with --dir dir and reads the address it
// listens on from its first line of output. The child exits when its
// standard input closes, so it never outlives this process.
func startCeilingProcess(ctx context.Context, command []string, dir string) (string, func(), error) {
	cmd := exec.Command(command[0], append(command[1:], "--dir", dir)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, fmt.Errorf("bench: ceiling process: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, fmt.Errorf("bench: ceiling process: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("bench: ceiling process: %w", err)
	}
	stop := func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	type line struct {
		s   string
		err error
	}
	first := make(chan line, 1)
	go func() {
		s, err := bufio.NewReader(stdout).ReadString('\n')
		first <- line{s, err}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case l := <-first:
		addr, ok := strings.CutPrefix(strings.TrimSpace(l.s), ceilingListening)
		if l.err != nil || !ok {
			stop()
			return "", nil, fmt.Errorf("bench: ceiling process said %q: %v", l.s, l.err)
		}
		return addr, stop, nil
	case <-ctx.Done():
		stop()
		return "", nil, ctx.Err()
	case <-time.After(30 * time.Second):
		stop()
		return "", nil, errors.New("bench: ceiling process did not start in 30s")
	}
}

// ceilingListening starts the line `berth bench-ceiling` prints first.
const ceilingListening = "ceiling listening on "

// RunCeilingProcess is `berth bench-ceiling`: it serves the ideal server
// on a free loopback port, its files in dir, prints the address, and
// returns when in (its parent's pipe) closes or ctx is done.
func RunCeilingProcess(ctx context.Context, dir string, in io.Reader, out io.Writer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("bench: ceiling server: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		io.Copy(io.Discard, in)
		cancel()
	}()
	if _, err := fmt.Fprintln(out, ceilingListening+ln.Addr().String()); err != nil {
		ln.Close()
		return err
	}
	return serveCeiling(ctx, dir, ln)
}

func (c *ceiling) close() {
	if c.cl != nil {
		c.cl.tr.CloseIdleConnections()
	}
	c.stop()
	os.RemoveAll(c.dir)
}

// put PUTs img's layers, whose bytes are data, and keeps img for get.
func (c *ceiling) put(ctx context.Context, data []byte, img *image) (Throughput, error) {
	t, err := ceilingPut(ctx, c.cl, data, img)
	if err != nil {
		return Throughput{}, fmt.Errorf("bench: ceiling PUT: %w", err)
	}
	c.img = img
	return t, nil
}

// get fetches and verifies the layers of the last image put.
func (c *ceiling) get(ctx context.Context) (Throughput, error) {
	if c.img == nil {
		return Throughput{}, errors.New("bench: ceiling GET: nothing put")
	}
	t, err := pullLayers(ctx, c.cl, c.img.layers)
	if err != nil {
		return Throughput{}, fmt.Errorf("bench: ceiling GET: %w", err)
	}
	return t, nil
}

// hello loads the hello handler from ManifestConcurrency loops for d.
func (c *ceiling) hello(ctx context.Context, d time.Duration) (Rate, error) {
	r, err := loadLoop(ctx, c.cl, c.cl.opts.ManifestConcurrency, d, func(ctx context.Context, buf *bytes.Buffer) (int64, error) {
		return 1, c.cl.hello(ctx, buf)
	})
	if err != nil {
		return Rate{}, fmt.Errorf("bench: ceiling hello: %w", err)
	}
	return r, nil
}

// ceilingPut PUTs each layer of img, Concurrency at a time.
func ceilingPut(ctx context.Context, c *client, data []byte, img *image) (Throughput, error) {
	r, err := fixedLoop(ctx, c.opts.Concurrency, len(img.layers), func(ctx context.Context, i int) (int64, error) {
		l := img.layers[i]
		off := int64(i) * c.opts.LayerSize
		return 1, c.putRaw(ctx, l.Digest, data[off:off+l.Size])
	})
	if err != nil {
		return Throughput{}, err
	}
	return Throughput{Bytes: img.layerBytes, Elapsed: r.Elapsed}, nil
}

func (c *client) putRaw(ctx context.Context, d v1.Hash, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.TransferTimeout)
	defer cancel()
	req, err := c.newRequest(ctx, http.MethodPut, "/v2/"+c.opts.Repository+"/blobs/"+d.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusCreated {
		return statusError(resp)
	}
	return nil
}

func (c *client) hello(ctx context.Context, buf *bytes.Buffer) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	req, err := c.newRequest(ctx, http.MethodGet, "/hello", nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return statusError(resp)
	}
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, 64)); err != nil {
		return err
	}
	if buf.String() != "hello" {
		return fmt.Errorf("hello answered %q", buf.String())
	}
	return nil
}
