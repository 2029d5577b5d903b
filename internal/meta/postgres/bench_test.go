package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/meta"
)

// Benchmarks, like the SQLite store's. The read paths are the manifest GET
// hot path (a network round trip each here); run them with -cpu 1,2 to see
// both single-caller latency and pool throughput.

const benchTags = 1000

func benchStore(b *testing.B) (*Store, []*meta.Manifest) {
	b.Helper()
	s := openStore(b, freshDSN(b))
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
	// Fresh statistics, as autovacuum would gather on a live database.
	if _, err := s.w.Exec(ctx, `ANALYZE`); err != nil {
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

// benchRead runs op from every benchmark goroutine with a cancelable
// context, as HTTP requests carry.
func benchRead(b *testing.B, op func(ctx context.Context, i int) error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
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
	s := openStore(b, freshDSN(b))
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
