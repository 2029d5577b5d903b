package oci

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// parseContentRange parses an upload chunk's Content-Range. The OCI spec
// form is "<start>-<end>" (inclusive); clients also send the RFC 9110 form
// "bytes <start>-<end>/<total|*>" and the Range-like "bytes=<start>-<end>",
// which are accepted leniently. A stated total must cover the range.
func parseContentRange(s string) (start, end int64, err error) {
	s = strings.TrimSpace(s)
	if len(s) > 6 && strings.EqualFold(s[:6], "bytes=") {
		s = s[6:]
	} else if len(s) > 6 && strings.EqualFold(s[:6], "bytes ") {
		s = strings.TrimLeft(s[6:], " ")
	}
	rng, total, hasTotal := strings.Cut(s, "/")
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, errors.New("want <start>-<end>")
	}
	if start, err = parseOffset(a); err != nil {
		return 0, 0, fmt.Errorf("start: %w", err)
	}
	if end, err = parseOffset(b); err != nil {
		return 0, 0, fmt.Errorf("end: %w", err)
	}
	if start > end {
		return 0, 0, errors.New("start is after end")
	}
	if hasTotal && total != "*" {
		n, err := parseOffset(total)
		if err != nil {
			return 0, 0, fmt.Errorf("total: %w", err)
		}
		if n <= end {
			return 0, 0, errors.New("range ends beyond the stated total")
		}
	}
	return start, end, nil
}

// parseOffset parses a non-negative decimal integer of digits only
// (strconv alone would accept signs).
func parseOffset(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("empty number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("not a decimal number")
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, errors.New("number out of range")
	}
	return n, nil
}

// errChunkLength reports a chunk body that disagrees with its Content-Range.
var errChunkLength = errors.New("chunk body length does not match Content-Range")

// exactReader passes through exactly n bytes of r and fails when r holds
// fewer or more, so a chunk that disagrees with its range is never appended
// (the core discards a write whose body reader fails).
type exactReader struct {
	r io.Reader
	n int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		// Everything promised was read: the body must end here.
		var one [1]byte
		k, err := e.r.Read(one[:])
		switch {
		case k > 0:
			return 0, errChunkLength
		case err == nil:
			return 0, nil
		default:
			return 0, err // io.EOF when the body ended as promised
		}
	}
	if int64(len(p)) > e.n {
		p = p[:e.n]
	}
	k, err := e.r.Read(p)
	e.n -= int64(k)
	if err == io.EOF && e.n > 0 {
		return k, errChunkLength
	}
	return k, err
}
