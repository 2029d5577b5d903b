package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/meta"
	"github.com/berth-registry/berth/internal/meta/metatest"
)

func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
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
	metatest.Run(t, func(t *testing.T) meta.Store { return openTemp(t) })
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := Open(ctx, path)
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

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	ti, err := s.GetTag(ctx, "r", "latest")
	if err != nil || ti.Digest != m.Digest {
		t.Fatalf("GetTag after reopen = %v, %v; want %s", ti, err, m.Digest)
	}
	got, err := s.GetManifest(ctx, "r", m.Digest)
	if err != nil || string(got.Content) != string(content) {
		t.Fatalf("GetManifest after reopen = %v, %v", got, err)
	}

	// Running the migrations again (as every Open does) applies nothing.
	ms, err := meta.LoadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, s.w, ms); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	after := appliedMigrations(t, s)
	if len(before) != len(ms) {
		t.Fatalf("applied %d migrations, have %d", len(before), len(ms))
	}
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatalf("migrations re-applied: before %v, after %v", before, after)
	}
}

// appliedMigrations returns "version name applied_at" for every applied migration.
func appliedMigrations(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.w.QueryContext(t.Context(), `SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
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

// TestCommittedSurvivesProcessExit commits in a child process that exits
// without closing the store (no checkpoint, WAL left behind), then checks the
// data is there on the next Open.
func TestCommittedSurvivesProcessExit(t *testing.T) {
	const env = "BERTH_SQLITE_CRASH_CHILD_DB"
	if path := os.Getenv(env); path != "" {
		s, err := Open(context.Background(), path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := s.CreateRepository(context.Background(), &meta.Repository{Name: "survivor", CreatedAt: time.Unix(1, 0)}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(3) // deliberately no Close
	}

	path := filepath.Join(t.TempDir(), "meta.db")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCommittedSurvivesProcessExit$")
	cmd.Env = append(os.Environ(), env+"="+path)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Fatalf("expected the child to leave its WAL behind: %v", err)
	}
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetRepository(t.Context(), "survivor"); err != nil {
		t.Fatalf("committed repository lost: %v", err)
	}
}

// TestCanceledContext checks that a canceled context stops every kind of
// call, including the point lookups that detach cancellation once started.
func TestCanceledContext(t *testing.T) {
	s := openTemp(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	d := digest.FromString("x")
	calls := map[string]func() error{
		"GetRepository":     func() error { _, err := s.GetRepository(ctx, "r"); return err },
		"GetBlob":           func() error { _, err := s.GetBlob(ctx, d); return err },
		"GetRepositoryBlob": func() error { _, err := s.GetRepositoryBlob(ctx, "r", d); return err },
		"GetManifest":       func() error { _, err := s.GetManifest(ctx, "r", d); return err },
		"GetTag":            func() error { _, err := s.GetTag(ctx, "r", "t"); return err },
		"GetUpload":         func() error { _, err := s.GetUpload(ctx, "u"); return err },
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

func TestRefusesNewerSchema(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(ctx, path); err == nil {
		s.Close()
		t.Fatal("Open accepted a database migrated by a newer binary")
	}
}

func TestEmbeddedMigrationsLoad(t *testing.T) {
	ms, err := meta.LoadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no embedded migrations")
	}
}

func TestPragmas(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	if err := checkPragmas(ctx, s.w); err != nil {
		t.Fatalf("writer: %v", err)
	}
	var fk, queryOnly int
	if err := s.r.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		t.Fatal(err)
	}
	if err := s.r.QueryRowContext(ctx, "PRAGMA query_only").Scan(&queryOnly); err != nil {
		t.Fatal(err)
	}
	if fk != 1 || queryOnly != 1 {
		t.Fatalf("reader foreign_keys=%d query_only=%d, want 1 and 1", fk, queryOnly)
	}
	if _, err := s.r.ExecContext(ctx, `INSERT INTO blobs (digest, size, created_at) VALUES ('x', 1, 1)`); err == nil {
		t.Fatal("read pool accepted a write")
	}
}

func TestOpenPathIsNotParsedAsURI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%chars")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "meta.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not created at the given path: %v", err)
	}
}

// TestQueriesUseIndexes guards the "single indexed query" property: no
// statement scans a table or sorts, and the lookups that have an index of
// their own use it (the planner may otherwise prefer the primary key for its
// order and walk the whole repository).
func TestQueriesUseIndexes(t *testing.T) {
	s := openTemp(t)
	wantIndex := map[int]string{
		qGetRepository:          "sqlite_autoindex_repositories_1 (name=?)",
		qGetRepositoryBlob:      "sqlite_autoindex_repository_blobs_1 (repository=? AND digest=?)",
		qGetManifest:            "sqlite_autoindex_manifests_1 (repository=? AND digest=?)",
		qGetTag:                 "sqlite_autoindex_tags_1 (repository=? AND name=?)",
		qListReferrers:          "manifests_subject (repository=? AND subject=?)",
		qManifestParents:        "manifest_manifest_refs_child (repository=? AND child_digest=?)",
		qTagsOf:                 "tags_digest (repository=? AND digest=?)",
		qTagsInRange:            "tags_digest (repository=? AND digest>? AND digest<?)",
		qManifestParentsInRange: "manifest_manifest_refs_child (repository=? AND child_digest>? AND child_digest<?)",
		qListStaleUploads:       "uploads_updated_at (updated_at<?)",
		qListTags:               "sqlite_autoindex_tags_1 (repository=? AND name>?)",
		qListManifests:          "sqlite_autoindex_manifests_1 (repository=? AND digest>?)",
	}
	for id, q := range queries {
		if strings.HasPrefix(q.sql, "INSERT") {
			continue
		}
		args := make([]any, strings.Count(q.sql, "$"))
		for i := range args {
			args[i] = fmt.Sprint("x", i)
		}
		plan := queryPlan(t, s, q.sql, args)
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN ") || strings.Contains(step, "TEMP B-TREE") {
				t.Errorf("query %d scans or sorts:\n%s\nplan: %q", id, q.sql, plan)
			}
		}
		if want, ok := wantIndex[id]; ok && !strings.Contains(plan[0], want) {
			t.Errorf("query %d uses %q, want index %q:\n%s", id, plan[0], want, q.sql)
		}
	}
}

func queryPlan(t *testing.T, s *Store, query string, args []any) []string {
	t.Helper()
	rows, err := s.w.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(plan) == 0 {
		t.Fatalf("no plan for %s", query)
	}
	return plan
}

// Benchmarks. The read paths are the manifest GET hot path; run them with
// -cpu 1,2 to see both single-caller latency and pool throughput.

const benchTags = 1000

func benchStore(b *testing.B) (*Store, []*meta.Manifest) {
	b.Helper()
	s := openTemp(b)
	ctx := context.Background()
	if err := s.CreateRepository(ctx, &meta.Repository{Name: "bench/app", CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	ms := make([]*meta.Manifest, benchTags)
	err := s.InTx(ctx, func(q meta.Queries) error {
		for i := range ms {
			ms[i] = benchManifest(i)
			if err := q.PutManifest(ctx, ms[i], meta.Refs{}); err != nil {
				return err
			}
			if _, err := q.SetTag(ctx, "bench/app", fmt.Sprint("v", i), ms[i].Digest, time.Now()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return s, ms
}

func benchManifest(i int) *meta.Manifest {
	content := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"digest":"%s","size":1234},"layers":[],"n":%d,"pad":"%s"}`,
		digest.FromString(fmt.Sprint("config", i)), i, strings.Repeat("x", 600)))
	return &meta.Manifest{
		Repository:   "bench/app",
		Digest:       digest.FromBytes(content),
		MediaType:    "application/vnd.oci.image.manifest.v1+json",
		Content:      content,
		ArtifactType: "application/vnd.oci.image.config.v1+json",
		ConfigDigest: digest.FromString(fmt.Sprint("config", i)),
		Annotations:  map[string]string{"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
		ImageSize:    int64(len(content)),
		PushedAt:     time.Now(),
	}
}

// benchRead runs op from every benchmark goroutine, once with a background
// context and once with a cancelable one as HTTP requests carry: database/sql
// and the driver each watch a cancelable context with a goroutine per query.
func benchRead(b *testing.B, op func(ctx context.Context, i int) error) {
	for _, cancelable := range []bool{false, true} {
		b.Run(fmt.Sprintf("cancelable=%v", cancelable), func(b *testing.B) {
			ctx := context.Background()
			if cancelable {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for i := 0; pb.Next(); i++ {
					if err := op(ctx, i); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func BenchmarkGetTag(b *testing.B) {
	s, _ := benchStore(b)
	tags := make([]string, benchTags)
	for i := range tags {
		tags[i] = fmt.Sprint("v", i)
	}
	benchRead(b, func(ctx context.Context, i int) error {
		_, err := s.GetTag(ctx, "bench/app", tags[i%len(tags)])
		return err
	})
}

func BenchmarkGetManifest(b *testing.B) {
	s, ms := benchStore(b)
	benchRead(b, func(ctx context.Context, i int) error {
		_, err := s.GetManifest(ctx, "bench/app", ms[i%len(ms)].Digest)
		return err
	})
}

// BenchmarkPutManifest includes one durable commit (fsync) per manifest.
func BenchmarkPutManifest(b *testing.B) {
	s := openTemp(b)
	ctx := context.Background()
	if err := s.CreateRepository(ctx, &meta.Repository{Name: "bench/app", CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	layers := make([]digest.Digest, 3)
	for i := range layers {
		layers[i] = digest.FromString(fmt.Sprint("layer", i))
		if err := s.PutBlob(ctx, meta.Blob{Digest: layers[i], Size: 1 << 20, CreatedAt: time.Now()}); err != nil {
			b.Fatal(err)
		}
		if err := s.LinkBlob(ctx, "bench/app", layers[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m := benchManifest(i)
		i++
		if err := s.PutManifest(ctx, m, meta.Refs{Blobs: layers}); err != nil {
			b.Fatal(err)
		}
	}
}
