package meta

import (
	"fmt"
	"testing"
	"testing/fstest"
)

func TestLoadMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name    string
		fs      fstest.MapFS
		want    []int64
		wantErr bool
	}{
		{"ordered", fstest.MapFS{"migrations/0002_b.sql": file("B"), "migrations/0001_a.sql": file("A")}, []int64{1, 2}, false},
		{"numeric not lexical", fstest.MapFS{
			"migrations/1_a.sql": file(""), "migrations/2_b.sql": file(""), "migrations/3_c.sql": file(""),
			"migrations/4_d.sql": file(""), "migrations/5_e.sql": file(""), "migrations/6_f.sql": file(""),
			"migrations/7_g.sql": file(""), "migrations/8_h.sql": file(""), "migrations/9_i.sql": file(""),
			"migrations/10_j.sql": file(""),
		}, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, false},
		{"gap", fstest.MapFS{"migrations/0001_a.sql": file(""), "migrations/0003_c.sql": file("")}, nil, true},
		{"duplicate", fstest.MapFS{"migrations/0001_a.sql": file(""), "migrations/0001_b.sql": file("")}, nil, true},
		{"not starting at 1", fstest.MapFS{"migrations/0002_a.sql": file("")}, nil, true},
		{"no version", fstest.MapFS{"migrations/init.sql": file("")}, nil, true},
		{"bad version", fstest.MapFS{"migrations/x1_init.sql": file("")}, nil, true},
		{"zero version", fstest.MapFS{"migrations/0000_init.sql": file("")}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := LoadMigrations(tc.fs)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("LoadMigrations = %v, want error", ms)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, m := range ms {
				got = append(got, m.Version)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("versions = %v, want %v", got, tc.want)
			}
		})
	}
}
