package bench

import (
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
	"path/filepath"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Ceilings are what an ideal Go server and client reach on this machine,
// measured in the same run as the registries.
type Ceilings struct {
	// SHA256 is single-core sha256 speed.
	SHA256 Throughput
	// Put is the large image PUT, Concurrency streams, to a server that
	// hashes and writes in one pass and fsyncs each file.
	Put Throughput
	// Get is the large image GET, Concurrency streams, from a server that
	// answers with sendfile, the client verifying sha256.
	Get Throughput
	// Hello is a trivial handler at ManifestConcurrency.
	Hello Rate
}

// ceilingServer is the ideal server: it stores PUT bodies under their
// digest, serves them back, and says hello.
type ceilingServer struct {
	dir string
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
	path := filepath.Join(s.dir, name)
	switch r.Method {
	case http.MethodPut:
		if err := s.put(path, name, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusCreated)
	case http.MethodGet:
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

// measureCeilings fills c with this machine's ceilings.
func measureCeilings(ctx context.Context, o Options, data []byte, img *image, c *Ceilings) error {
	c.SHA256 = sha256Speed(data, o.HashBytes)

	dir, err := os.MkdirTemp(o.CeilingDir, "berth-bench-ceiling-")
	if err != nil {
		return fmt.Errorf("bench: ceiling dir: %w", err)
	}
	defer os.RemoveAll(dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("bench: ceiling server: %w", err)
	}
	srv := &http.Server{Handler: &ceilingServer{dir: dir}, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	cl, err := newClient(ctx, o, Target{Name: "ceiling", URL: "http://" + ln.Addr().String()})
	if err != nil {
		return err
	}
	defer cl.tr.CloseIdleConnections()
	cl.opts.Repository = "ceiling"

	if c.Put, err = ceilingPut(ctx, cl, data, img); err != nil {
		return fmt.Errorf("bench: ceiling PUT: %w", err)
	}
	ctxP, cancel := context.WithCancel(ctx)
	defer cancel()
	if c.Get, err = pullLayers(ctxP, cl, img.layers); err != nil {
		return fmt.Errorf("bench: ceiling GET: %w", err)
	}
	c.Hello, err = loadLoop(ctx, cl, o.ManifestConcurrency, func(ctx context.Context, buf *bytes.Buffer) (int64, error) {
		return 1, cl.hello(ctx, buf)
	})
	if err != nil {
		return fmt.Errorf("bench: ceiling hello: %w", err)
	}
	return nil
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
