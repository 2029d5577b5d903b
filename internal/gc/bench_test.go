package gc_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/meta"
)

// BenchmarkRunOnceIdle measures a collection that finds nothing to do over a
// store of 200 images (400 blobs): the steady-state cost of a run.
func BenchmarkRunOnceIdle(b *testing.B) {
	e := newEnv(b, time.Hour, false, nil)
	for i := range 200 {
		if _, err := e.pushImage(b.Context(), fmt.Sprintf("r%d", i%10), fmt.Sprintf("t%d", i), fmt.Sprint(i), []byte(fmt.Sprintf("layer-%d", i))); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.gc.RunOnce(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCollect measures reclaiming garbage: each iteration deletes one
// image's unique blobs (two links, two blobs).
func BenchmarkCollect(b *testing.B) {
	e := newEnv(b, time.Hour, false, nil)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		d, err := e.pushImage(b.Context(), "rr", "t", fmt.Sprint(i), []byte(fmt.Sprintf("layer-%d", i)))
		if err != nil {
			b.Fatal(err)
		}
		if err := e.core.DeleteManifest(b.Context(), "rr", d.String()); err != nil {
			b.Fatal(err)
		}
		e.clock.add(2 * time.Hour)
		b.StartTimer()
		st, err := e.gc.RunOnce(b.Context())
		if err != nil || st.Blobs != 2 {
			b.Fatalf("%+v %v", st, err)
		}
	}
}

// BenchmarkPushGuard measures what the push path pays for collection
// safety: the tombstone lookup registry.checkCollectedBlob adds to the
// transaction recording a blob (a miss, the common case), against the same
// transaction without it.
func BenchmarkPushGuard(b *testing.B) {
	e := newEnv(b, time.Hour, false, nil)
	d := digest.FromString("absent")
	for _, bc := range []struct {
		name string
		fn   func(q meta.Queries) error
	}{
		{"bare-tx", func(meta.Queries) error { return nil }},
		{"tx+tombstone-lookup", func(q meta.Queries) error {
			_, err := q.GetBlobDeletion(b.Context(), d)
			if errors.Is(err, meta.ErrNotFound) {
				return nil
			}
			return err
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if err := e.meta.InTx(b.Context(), bc.fn); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
