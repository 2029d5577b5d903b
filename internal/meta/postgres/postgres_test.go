package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/meta"
	"github.com/berth-registry/berth/internal/meta/metatest"
)

// The tests need a PostgreSQL server. BERTH_TEST_POSTGRES_DSN names one (a
// superuser or a role that may create schemas); without it the tests start a
// throwaway server with scripts/pg-test-server.sh when the Debian binaries
// are installed. Otherwise they skip, except under CI=true, where they fail.
const (
	dsnEnv    = "BERTH_TEST_POSTGRES_DSN"
	pgBinDir  = "/usr/lib/postgresql/15/bin"
	serverCmd = "../../../scripts/pg-test-server.sh"
)

var server struct {
	once     sync.Once
	dsn      string
	stateDir string // set when this process started the server
	err      error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if server.stateDir != "" {
		out, err := exec.Command(serverCmd, "stop", server.stateDir).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "stop test server: %v\n%s", err, out)
			code = max(code, 1)
		}
	}
	os.Exit(code)
}

// baseDSN returns the DSN of the test server, starting one if needed.
func baseDSN(t testing.TB) string {
	t.Helper()
	server.once.Do(func() {
		if dsn := os.Getenv(dsnEnv); dsn != "" {
			server.dsn = dsn
			return
		}
		if _, err := os.Stat(filepath.Join(pgBinDir, "pg_ctl")); err != nil {
			server.err = fmt.Errorf("%s is not set and there is no %s to start a server", dsnEnv, pgBinDir)
			return
		}
		// A directory the script creates (and the postgres user can reach):
		// a t.TempDir is private to the user running the tests.
		dir := filepath.Join(os.TempDir(), "berth-pg-"+randomName())
		cmd := exec.Command(serverCmd, "start", dir)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		server.stateDir = dir
		if err != nil {
			server.err = fmt.Errorf("start test server: %w", err)
			return
		}
		server.dsn = strings.TrimSpace(string(out))
	})
	if server.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL tests cannot run in CI: %v", server.err)
		}
		t.Skipf("no PostgreSQL: %v", server.err)
	}
	return server.dsn
}

func randomName() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// freshDSN creates an empty schema, dropped at the end of the test, and
// returns a DSN whose search_path is that schema and whose application_name
// is unique to it.
func freshDSN(t testing.TB) string {
	t.Helper()
	base := baseDSN(t)
	name := "t_" + randomName()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to test server: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	params := map[string]string{"search_path": name, "application_name": name}
	if _, bench := t.(*testing.B); !bench {
		// Tests need no durable commits, and an fsync per write makes them
		// crawl on a busy disk. Benchmarks measure the real thing.
		params["synchronous_commit"] = "off"
	}
	return withParams(t, base, params)
}

func withParams(t testing.TB, dsn string, params map[string]string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("parse %s: %v", dsnEnv, err)
		}
		q := u.Query()
		for k, v := range params {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	for k, v := range params {
		dsn += " " + k + "=" + v
	}
	return dsn
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func openStore(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	metatest.Run(t, func(t *testing.T) meta.Store { return openStore(t, freshDSN(t)) })
}

// TestConcurrentOpenMigratesOnce starts several nodes on one empty schema at
// once: all must open, and every migration must be recorded exactly once.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	dsn := freshDSN(t)
	const nodes = 6
	stores := make([]*Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			stores[i], errs[i] = Open(t.Context(), dsn, Options{Logger: quiet, MaxConns: 2})
		})
	}
	wg.Wait()
	for i, s := range stores {
		if s != nil {
			defer s.Close()
		}
		if errs[i] != nil {
			t.Errorf("node %d: %v", i, errs[i])
		}
	}
	if t.Failed() {
		return
	}
	ms, err := meta.LoadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	got := appliedMigrations(t, stores[0])
	if len(got) != len(ms) {
		t.Fatalf("schema_migrations = %q, want %d rows", got, len(ms))
	}
	for i, m := range ms {
		if !strings.HasPrefix(got[i], fmt.Sprint(m.Version, " ", m.Name, " ")) {
			t.Fatalf("schema_migrations[%d] = %q, want version %d %s", i, got[i], m.Version, m.Name)
		}
	}
	// Every node works on the one schema.
	if err := stores[1].CreateRepository(t.Context(), &meta.Repository{Name: "shared"}); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[nodes-1].GetRepository(t.Context(), "shared"); err != nil {
		t.Fatalf("another node does not see the write: %v", err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := t.Context()
	dsn := freshDSN(t)
	s, err := Open(ctx, dsn, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRepository(ctx, &meta.Repository{Name: "r", CreatedAt: time.Unix(1, 0)}); err != nil {
		t.Fatal(err)
	}
	content := []byte(`{"schemaVersion":2}`)
	m := &meta.Manifest{Repository: "r", Digest: digest.FromBytes(content), MediaType: "application/vnd.oci.image.manifest.v1+json",
		Content: content, PushedAt: time.Unix(2, 0)}
	if err := s.PutManifest(ctx, m, meta.Refs{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetTag(ctx, "r", "latest", m.Digest, time.Unix(3, 0)); err != nil {
		t.Fatal(err)
	}
	before := appliedMigrations(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, dsn)
	ti, err := s.GetTag(ctx, "r", "latest")
	if err != nil || ti.Digest != m.Digest {
		t.Fatalf("GetTag after reopen = %v, %v; want %s", ti, err, m.Digest)
	}
	got, err := s.GetManifest(ctx, "r", m.Digest)
	if err != nil || string(got.Content) != string(content) {
		t.Fatalf("GetManifest after reopen = %v, %v", got, err)
	}
	if after := appliedMigrations(t, s); !slices.Equal(before, after) {
		t.Fatalf("migrations re-applied: before %q, after %q", before, after)
	}
}

// appliedMigrations returns "version name applied_at" for every applied migration.
func appliedMigrations(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.r.Query(t.Context(), `SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v, at int64
		var name string
		if err := rows.Scan(&v, &name, &at); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(v, " ", name, " ", at))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRefusesNewerSchema(t *testing.T) {
	ctx := t.Context()
	dsn := freshDSN(t)
	s := openStore(t, dsn)
	if _, err := s.w.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(ctx, dsn, Options{Logger: quiet}); err == nil {
		s.Close()
		t.Fatal("Open accepted a schema migrated by a newer binary")
	}
}

// TestRetryAfterBackendTerminated kills the server sessions behind the
// pool's idle connections, as a restart or failover does, and expects the
// next idempotent calls to succeed on fresh connections.
func TestRetryAfterBackendTerminated(t *testing.T) {
	tests := []struct {
		name string
		op   func(ctx context.Context, s *Store) error
	}{
		{"read", func(ctx context.Context, s *Store) error {
			_, err := s.GetRepository(ctx, "r")
			return err
		}},
		{"idempotent write", func(ctx context.Context, s *Store) error {
			return s.PutBlob(ctx, meta.Blob{Digest: digest.FromString("b"), Size: 1})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			dsn := freshDSN(t)
			s := openStore(t, dsn)
			// However slow this machine, the dead connections must be met
			// by the calls, not weeded out by an idle-time ping.
			s.pingIdle = time.Hour
			if err := s.CreateRepository(ctx, &meta.Repository{Name: "r", CreatedAt: time.Unix(1, 0)}); err != nil {
				t.Fatal(err)
			}
			// Leave idle connections in both pools.
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					if _, err := s.GetRepository(ctx, "r"); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			idle := s.r.Stat().IdleConns() + s.w.Stat().IdleConns()
			if s.r.Stat().IdleConns() == 0 || s.w.Stat().IdleConns() == 0 {
				t.Fatal("no idle connections to break")
			}

			killed := terminateSessions(t, mustAppName(t, dsn))
			if killed < int(idle) {
				t.Fatalf("terminated %d sessions, want at least the %d idle connections", killed, idle)
			}
			for i := range int(idle) + 1 {
				if err := tc.op(ctx, s); err != nil {
					t.Fatalf("call %d after the sessions were terminated: %v", i, err)
				}
			}
			if s.connErrAt.Load() == 0 {
				t.Fatal("no call met a dead connection: the test did not exercise the retry")
			}
		})
	}
}

// terminateSessions ends every server session with the given
// application_name and returns how many there were.
func terminateSessions(t *testing.T, appName string) int {
	t.Helper()
	ctx := t.Context()
	admin, err := pgx.Connect(ctx, baseDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var killed int
	// The timeout makes pg_terminate_backend wait until each session is gone.
	err = admin.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000))
		FROM pg_stat_activity WHERE application_name = $1`, appName).Scan(&killed)
	if err != nil {
		t.Fatal(err)
	}
	return killed
}

func mustAppName(t *testing.T, dsn string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.RuntimeParams["application_name"]
}

// TestSessions checks the isolation the store's correctness rests on: every
// write is serializable, plain reads cannot write.
func TestSessions(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, freshDSN(t))
	var iso, ro string
	if err := s.w.QueryRow(ctx, `SHOW transaction_isolation`).Scan(&iso); err != nil {
		t.Fatal(err)
	}
	if iso != "serializable" {
		t.Fatalf("write pool isolation = %q, want serializable", iso)
	}
	err := s.InTx(ctx, func(q meta.Queries) error {
		return q.(querier).db.QueryRow(ctx, `SHOW transaction_isolation`).Scan(&iso)
	})
	if err != nil {
		t.Fatal(err)
	}
	if iso != "serializable" {
		t.Fatalf("InTx isolation = %q, want serializable", iso)
	}
	if err := s.r.QueryRow(ctx, `SHOW transaction_read_only`).Scan(&ro); err != nil {
		t.Fatal(err)
	}
	if ro != "on" {
		t.Fatalf("read pool transaction_read_only = %q, want on", ro)
	}
	if _, err := s.r.Exec(ctx, `INSERT INTO blobs (digest, size, created_at) VALUES ('x', 1, 1)`); err == nil {
		t.Fatal("read pool accepted a write")
	}
}

// TestInTxRerunsOnSerializationFailure: fn's first run loses a
// serialization race; InTx rolls it back and runs fn again.
func TestInTxRerunsOnSerializationFailure(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, freshDSN(t))
	runs := 0
	err := s.InTx(ctx, func(q meta.Queries) error {
		runs++
		if err := q.CreateRepository(ctx, &meta.Repository{Name: "once", CreatedAt: time.Unix(1, 0)}); err != nil {
			return err
		}
		if runs == 1 {
			return fmt.Errorf("check: %w", &pgconn.PgError{Code: "40001"})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if runs != 2 {
		t.Fatalf("fn ran %d times, want 2", runs)
	}
	repos, err := s.ListRepositories(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(repos) != 1 || repos[0].Name != "once" {
		t.Fatalf("repositories = %+v, want exactly [once]", repos)
	}
}

// TestInTxWriteSkewIsPrevented runs the classic write skew: two transactions
// each read what the other writes. At SERIALIZABLE one of them must be rerun
// and then see the other's write, so both cannot "win".
func TestInTxWriteSkewIsPrevented(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, freshDSN(t))
	// Each transaction creates its own setting only if the other's is absent.
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, 2)
	created := make([]bool, 2)
	keys := []string{"a", "b"}
	for i := range 2 {
		wg.Go(func() {
			<-start
			errs[i] = s.InTx(ctx, func(q meta.Queries) error {
				created[i] = false
				_, err := q.GetSetting(ctx, keys[1-i])
				if err == nil {
					return nil
				}
				if !errors.Is(err, meta.ErrNotFound) {
					return err
				}
				// Let the other transaction take its snapshot too.
				time.Sleep(50 * time.Millisecond)
				created[i] = true
				return q.CreateSetting(ctx, keys[i], []byte("x"))
			})
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if created[0] && created[1] {
		t.Fatal("both transactions created their setting: write skew")
	}
	n := 0
	for _, k := range keys {
		if _, err := s.GetSetting(ctx, k); err == nil {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d settings exist, want exactly 1", n)
	}
}

// TestCanceledContext checks that a canceled context stops every kind of
// call without retries.
func TestCanceledContext(t *testing.T) {
	s := openStore(t, freshDSN(t))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	d := digest.FromString("x")
	calls := map[string]func() error{
		"GetRepository":     func() error { _, err := s.GetRepository(ctx, "r"); return err },
		"GetRepositoryBlob": func() error { _, err := s.GetRepositoryBlob(ctx, "r", d); return err },
		"GetManifest":       func() error { _, err := s.GetManifest(ctx, "r", d); return err },
		"GetTag":            func() error { _, err := s.GetTag(ctx, "r", "t"); return err },
		"ListTags":          func() error { _, err := s.ListTags(ctx, "r", "", 0); return err },
		"CreateRepository":  func() error { return s.CreateRepository(ctx, &meta.Repository{Name: "r"}) },
		"InTx":              func() error { return s.InTx(ctx, func(meta.Queries) error { return nil }) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err = %v, want context.Canceled", name, err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		name string
		dsn  string
		opts Options
	}{
		{"bad DSN", "postgres://u:s3cret@host:notaport/db", Options{}},
		{"min above max", "postgres://127.0.0.1:1/db", Options{MaxConns: 2, MinConns: 3}},
		{"unreachable", "postgres://postgres:s3cret@127.0.0.1:1/db?connect_timeout=2", Options{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Logger = quiet
			s, err := Open(ctx, tc.dsn, tc.opts)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}

// TestQueriesUseIndexes guards the "single indexed query" property of the
// lookups: with sequential scans priced out, each plan must use an index
// and need no sort.
func TestQueriesUseIndexes(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, freshDSN(t))
	conn, err := s.r.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `RESET enable_seqscan`)
	queries := map[string]string{
		"GetRepository":          sqlGetRepository,
		"ListRepositories":       sqlListRepositories,
		"GetBlob":                sqlGetBlob,
		"GetRepositoryBlob":      sqlGetRepositoryBlob,
		"GetManifest":            sqlGetManifest,
		"ManifestParents":        sqlManifestParents,
		"ListManifests":          sqlListManifests,
		"ListReferrers":          sqlListReferrers,
		"GetTag":                 sqlGetTag,
		"ListTags":               sqlListTags,
		"TagsOf":                 sqlTagsOf,
		"TagsInRange":            sqlTagsInRange,
		"ManifestParentsInRange": sqlManifestParentsInRange,
		"GetUpload":              sqlGetUpload,
		"ListStaleUploads":       sqlListStaleUploads,
		"GetSetting":             sqlGetSetting,
	}
	for name, q := range queries {
		// A generic plan, as a cached prepared statement ends up with.
		if _, err := conn.Exec(ctx, `SET plan_cache_mode = force_generic_plan`); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `PREPARE p AS `+q); err != nil {
			t.Fatalf("%s: prepare: %v", name, err)
		}
		nargs := 0
		for _, m := range paramRE.FindAllStringSubmatch(q, -1) {
			n, _ := strconv.Atoi(m[1])
			nargs = max(nargs, n)
		}
		args := strings.TrimSuffix(strings.Repeat("NULL, ", nargs), ", ")
		rows, err := conn.Query(ctx, `EXPLAIN EXECUTE p(`+args+`)`, pgx.QueryExecModeSimpleProtocol)
		if err != nil {
			t.Fatalf("%s: explain: %v", name, err)
		}
		plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: explain: %v", name, err)
		}
		if _, err := conn.Exec(ctx, `DEALLOCATE p`); err != nil {
			t.Fatal(err)
		}
		text := strings.Join(plan, "\n")
		if strings.Contains(text, "Seq Scan") || strings.Contains(text, "Sort") || !strings.Contains(text, "Index") {
			t.Errorf("%s does not run on an index alone:\n%s", name, text)
		}
	}
}

var paramRE = regexp.MustCompile(`\$(\d+)`)

// TestMigrationsMatchSQLite keeps the two stores' schemas in step: each
// SQLite migration has a PostgreSQL counterpart of the same name.
func TestMigrationsMatchSQLite(t *testing.T) {
	entries, err := os.ReadDir("../sqlite/migrations")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range entries {
		want = append(want, e.Name())
	}
	ms, err := meta.LoadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Name)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("postgres migrations %q, sqlite migrations %q", got, want)
	}
}
