package ecrapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestEpochTimeMarshal(t *testing.T) {
	cases := []struct {
		t    time.Time
		want string
	}{
		{time.Unix(1704067200, 0), "1704067200"},
		{time.Unix(1704067200, 123e6), "1704067200.123"},
		{time.Unix(1704067200, 100e6), "1704067200.1"},
		{time.Unix(1704067200, 999999999), "1704067200.999"}, // millisecond precision, truncated
		{time.Unix(0, 0), "0"},
		{time.Unix(-1, -500e6), "-1.5"},
	}
	for _, c := range cases {
		b, err := json.Marshal(EpochTime(c.t))
		if err != nil || string(b) != c.want {
			t.Errorf("Marshal(%v) = %s, %v; want %s", c.t, b, err, c.want)
		}
	}
}

func TestEpochTimeUnmarshal(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"1704067200", time.Unix(1704067200, 0), true},
		{"1704067200.123", time.Unix(1704067200, 123e6), true},
		{"1.704067200123E9", time.Unix(1704067200, 123e6), true},
		{"null", time.Time{}, true},
		{`"1704067200"`, time.Time{}, false},
		{"1e300", time.Time{}, false},
		{"true", time.Time{}, false},
	}
	for _, c := range cases {
		var got EpochTime
		err := json.Unmarshal([]byte(c.in), &got)
		if (err == nil) != c.ok {
			t.Errorf("Unmarshal(%s) err = %v, want ok=%v", c.in, err, c.ok)
			continue
		}
		if c.ok && !got.Time().Equal(c.want) {
			t.Errorf("Unmarshal(%s) = %v, want %v", c.in, got.Time(), c.want)
		}
	}
}

func TestEpochTimeOmitZero(t *testing.T) {
	b, err := json.Marshal(struct {
		At EpochTime `json:"at,omitzero"`
	}{})
	if err != nil || string(b) != "{}" {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
}

func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, "req-1", &APIError{Code: "InvalidLayerPartException", Message: "bad", Status: 400,
		Fields: map[string]any{"lastValidByteReceived": 7, "__type": "spoofed"}})
	if rec.Code != 400 {
		t.Fatalf("status %d", rec.Code)
	}
	for k, want := range map[string]string{
		"X-Amzn-Errortype": "InvalidLayerPartException",
		"X-Amzn-Requestid": "req-1",
		"Content-Type":     ContentType,
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body["__type"] != "InvalidLayerPartException" || body["message"] != "bad" || body["lastValidByteReceived"] != 7.0 {
		t.Fatalf("body = %v", body)
	}
}

func TestErrorfStatus(t *testing.T) {
	for code, want := range map[string]int{
		"ServerException":             500,
		"RepositoryNotFoundException": 400,
		"SomethingUnmodeled":          400,
	} {
		if got := Errorf(code, "x").Status; got != want {
			t.Errorf("Errorf(%s).Status = %d, want %d", code, got, want)
		}
	}
}

func TestReadBody(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		length  int64 // Content-Length; -1 = unknown (chunked)
		limit   int64
		want    string
		tooBig  bool
		failing bool
	}{
		{name: "fits", body: "{}", length: 2, limit: 10, want: "{}"},
		{name: "exactly the limit", body: "0123456789", length: 10, limit: 10, want: "0123456789"},
		{name: "declared too large", body: "{}", length: 11, limit: 10, tooBig: true},
		{name: "chunked too large", body: strings.Repeat("x", 11), length: -1, limit: 10, tooBig: true},
		{name: "read error", failing: true, length: -1, limit: 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
			if c.failing {
				r.Body = io.NopCloser(iotest.ErrReader(errors.New("reset")))
			}
			r.ContentLength = c.length
			got, err := ReadBody(r, c.limit)
			var ae *APIError
			switch {
			case c.tooBig:
				if !errors.As(err, &ae) || ae.Status != 413 {
					t.Fatalf("err = %v, want 413", err)
				}
			case c.failing:
				if err == nil || errors.As(err, &ae) {
					t.Fatalf("err = %v, want an internal read error", err)
				}
			default:
				if err != nil || string(got) != c.want {
					t.Fatalf("ReadBody = %q, %v", got, err)
				}
			}
		})
	}
	if BodyLimit("UploadLayerPart") != MaxUploadLayerPartSize || BodyLimit("CreateRepository") != MaxBodySize {
		t.Fatal("BodyLimit")
	}
}

func TestRequestDecodeErrors(t *testing.T) {
	var in struct {
		MaxResults int `json:"maxResults"`
	}
	cases := map[string]string{
		"type mismatch": `{"maxResults":"many"}`,
		"not json":      `{`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			err := (&Request{Body: []byte(body)}).Decode(&in)
			var ae *APIError
			if !errors.As(err, &ae) || ae.Code != CodeSerialization {
				t.Fatalf("err = %v, want SerializationException", err)
			}
		})
	}
	if err := (&Request{}).Decode(&in); err != nil {
		t.Fatalf("empty body: %v", err)
	}
}

func FuzzEpochTime(f *testing.F) {
	for _, s := range []string{"0", "1704067200.123", "-1e9", "1e400", "null", `""`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var et EpochTime
		if err := et.UnmarshalJSON(b); err != nil {
			return
		}
		out, err := et.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var back EpochTime
		if err := back.UnmarshalJSON(out); err != nil || !back.Time().Equal(et.Time()) {
			t.Fatalf("round trip of %s: %s -> %v (%v)", b, out, back.Time(), err)
		}
	})
}
