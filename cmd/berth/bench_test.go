package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestBenchCmdArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string // "" for success; "usage" for errUsage
	}{
		{"help", []string{"-h"}, ""},
		{"unknown flag", []string{"--nope"}, "usage"},
		{"stray argument", []string{"extra"}, "usage"},
		{"unknown scenario", []string{"--scenarios", "push-large,teleport"}, "unknown scenario"},
		{"bad url", []string{"--url", "ftp://x"}, "want http(s)"},
		{"bad compare url", []string{"--compare-url", "x"}, "want http(s)"},
		{"too many rounds", []string{"--rounds", "51"}, "rounds 51 out of range"},
		{"negative rounds", []string{"--rounds", "-1"}, "rounds -1 out of range"},
		{"rounds not a number", []string{"--rounds", "many"}, "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := benchCmd(context.Background(), tt.args, io.Discard, io.Discard)
			switch {
			case tt.wantErr == "":
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			case tt.wantErr == "usage":
				if !errors.Is(err, errUsage) {
					t.Fatalf("err = %v, want errUsage", err)
				}
			default:
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			}
		})
	}
}
