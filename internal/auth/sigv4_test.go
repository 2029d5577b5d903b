package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
)

const (
	testAKID   = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testToken  = "FwoGZXIvYXdzEXAMPLETOKEN"
	testTarget = "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories"
	testBody   = `{"repositoryNames":["team/app"]}`
)

// testNow is the botocore vectors' signing time.
var testNow = time.Date(2024, 1, 1, 0, 30, 0, 0, time.UTC)

var testOwner = Principal{
	ARN: "arn:aws:iam::123456789012:user/alice", UserName: "alice",
	UserID: "AIDAEXAMPLEALICE", AccountID: "123456789012",
}

// mapKeys is a KeyLookup over a map; err, when set, is returned for all IDs.
type mapKeys struct {
	keys  map[string]AccessKey
	err   error
	calls int
}

func (m *mapKeys) LookupAccessKey(_ context.Context, id string) (AccessKey, error) {
	m.calls++
	if m.err != nil {
		return AccessKey{}, m.err
	}
	k, ok := m.keys[id]
	if !ok {
		return AccessKey{}, fmt.Errorf("lookup %q: %w", id, ErrKeyNotFound)
	}
	return k, nil
}

func testKeys() *mapKeys {
	return &mapKeys{keys: map[string]AccessKey{
		testAKID:     {ID: testAKID, Secret: testSecret, Status: KeyActive, Owner: testOwner},
		"AKIDOFF":    {ID: "AKIDOFF", Secret: testSecret, Status: KeyInactive, Owner: testOwner},
		"ASIATEMP":   {ID: "ASIATEMP", Secret: testSecret, Status: KeyActive, SessionToken: testToken, Expiration: testNow.Add(time.Hour), Owner: testOwner},
		"ASIAEXPIRE": {ID: "ASIAEXPIRE", Secret: testSecret, Status: KeyActive, SessionToken: testToken, Expiration: testNow.Add(-time.Second), Owner: testOwner},
	}}
}

func newTestVerifier(keys KeyLookup) *Verifier {
	return &Verifier{Keys: keys, Now: func() time.Time { return testNow }, Region: "us-east-1"}
}

// newECRRequest builds a server-side ECR request, as net/http hands it to a handler.
func newECRRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:5000/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", testTarget)
	return r
}

func bodyHash(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
}

// sdkSign signs r the way the Go SDK v2 does (it also signs its invocation
// headers and Content-Length).
func sdkSign(t testing.TB, r *http.Request, body, akid, secret, token string, at time.Time) {
	t.Helper()
	r.Header.Set("Amz-Sdk-Invocation-Id", "0b8e7c6e-3b0a-4b8a-9d47-6c0e0e0e0e0e")
	r.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	creds := aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: token}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, bodyHash(body), "ecr", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
}

// cliSign signs r with exactly the AWS CLI's header set
// (content-type;host;x-amz-date;x-amz-target), then adds an unsigned User-Agent.
func cliSign(t testing.TB, r *http.Request, body, akid, secret string, at time.Time) {
	t.Helper()
	n := r.ContentLength
	r.ContentLength = 0 // the CLI does not sign Content-Length
	creds := aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, bodyHash(body), "ecr", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	r.ContentLength = n
	if got, want := r.Header.Get("Authorization"), "SignedHeaders=content-type;host;x-amz-date;x-amz-target,"; !strings.Contains(got, want) {
		t.Fatalf("cliSign produced %q, want %q", got, want)
	}
	r.Header.Set("User-Agent", "aws-cli/1.45.11 Python/3.11.7")
}

func TestVerify(t *testing.T) {
	type tc struct {
		name    string
		build   func(t *testing.T) (*http.Request, string) // request and the body the server read
		service string                                     // default "ecr"
		keys    *mapKeys                                   // default testKeys()
		code    string                                     // "" means success
		status  int
		message string // exact message, when set
	}
	good := func(t *testing.T) (*http.Request, string) {
		r := newECRRequest(testBody)
		sdkSign(t, r, testBody, testAKID, testSecret, "", testNow)
		return r, testBody
	}
	withAuthz := func(authz string) func(t *testing.T) (*http.Request, string) {
		return func(t *testing.T) (*http.Request, string) {
			r := newECRRequest(testBody)
			r.Header.Set("X-Amz-Date", "20240101T003000Z")
			r.Header.Set("Authorization", authz)
			return r, testBody
		}
	}
	skewed := func(d time.Duration) func(t *testing.T) (*http.Request, string) {
		return func(t *testing.T) (*http.Request, string) {
			r := newECRRequest(testBody)
			sdkSign(t, r, testBody, testAKID, testSecret, "", testNow.Add(d))
			return r, testBody
		}
	}
	const sig = "Signature=d69bd30985146c95366fbf3ea678951f191244b1c341cc9bb8fb43cb4ab2a341"
	cases := []tc{
		{name: "sdk signed", build: good},
		{name: "cli signed header set", build: func(t *testing.T) (*http.Request, string) {
			r := newECRRequest(testBody)
			cliSign(t, r, testBody, testAKID, testSecret, testNow)
			return r, testBody
		}},
		{name: "botocore vector", build: func(t *testing.T) (*http.Request, string) {
			// Signed by botocore 1.43 SigV4Auth (the AWS CLI's signer), an
			// implementation independent of the one Verify uses.
			r := newECRRequest(testBody)
			r.Header.Set("User-Agent", "aws-cli/1.45.11")
			r.Header.Set("X-Amz-Date", "20240101T003000Z")
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/ecr/aws4_request, "+
				"SignedHeaders=content-type;host;x-amz-date;x-amz-target, "+sig)
			return r, testBody
		}},
		{name: "botocore vector with session token", build: func(t *testing.T) (*http.Request, string) {
			r := newECRRequest(testBody)
			r.Header.Set("X-Amz-Date", "20240101T003000Z")
			r.Header.Set("X-Amz-Security-Token", testToken)
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/ecr/aws4_request, "+
				"SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "+
				"Signature=c8e8ab434f8cf697386fa59ae14665b72d8147ed8a3cb211f887e05310b95a01")
			return r, testBody
		}, keys: &mapKeys{keys: map[string]AccessKey{testAKID: {ID: testAKID, Secret: testSecret, Status: KeyActive, SessionToken: testToken, Owner: testOwner}}}},
		{name: "botocore vector tampered body", build: func(t *testing.T) (*http.Request, string) {
			r, _ := withAuthz("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/ecr/aws4_request, " +
				"SignedHeaders=content-type;host;x-amz-date;x-amz-target, " + sig)(t)
			return r, `{"repositoryNames":["team/other"]}`
		}, code: "InvalidSignatureException", status: 403, message: msgBadSignature},
		{name: "wrong secret", build: func(t *testing.T) (*http.Request, string) {
			r := newECRRequest(testBody)
			sdkSign(t, r, testBody, testAKID, "not-the-secret", "", testNow)
			return r, testBody
		}, code: "InvalidSignatureException", status: 403, message: msgBadSignature},
		{name: "tampered body", build: func(t *testing.T) (*http.Request, string) {
			r, _ := good(t)
			return r, `{"repositoryNames":["team/evil"]}`
		}, code: "InvalidSignatureException", status: 403},
		{name: "tampered signed header", build: func(t *testing.T) (*http.Request, string) {
			r, b := good(t)
			r.Header.Set("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.DeleteRepository")
			return r, b
		}, code: "InvalidSignatureException", status: 403},
		{name: "tampered host", build: func(t *testing.T) (*http.Request, string) {
			r, b := good(t)
			r.Host = "127.0.0.1:5001"
			return r, b
		}, code: "InvalidSignatureException", status: 403},
		{name: "tampered content-length", build: func(t *testing.T) (*http.Request, string) {
			r, b := good(t)
			r.ContentLength++
			return r, b
		}, code: "InvalidSignatureException", status: 403},
		{name: "unsigned headers changed", build: func(t *testing.T) (*http.Request, string) {
			r, b := good(t)
			r.Header.Set("User-Agent", "something-else")
			r.Header.Set("X-Forwarded-For", "10.0.0.1")
			r.Header.Set("Accept-Encoding", "gzip")
			return r, b
		}},
		{name: "content sha256 header matches", build: func(t *testing.T) (*http.Request, string) {
			r := newECRRequest(testBody)
			r.Header.Set("X-Amz-Content-Sha256", bodyHash(testBody))
			sdkSign(t, r, testBody, testAKID, testSecret, "", testNow)
			return r, testBody
		}},
		{name: "content sha256 header lies about body", build: func(t *testing.T) (*http.Request, string) {
			const other = `{"repositoryNames":["team/evil"]}`
			r := newECRRequest(other)
			r.Header.Set("X-Amz-Content-Sha256", bodyHash(testBody))
			sdkSign(t, r, testBody, testAKID, testSecret, "", testNow)
			return r, other
		}, code: "InvalidSignatureException", status: 403},
		{name: "unsigned payload refused", build: func(t *testing.T) (*http.Request, string) {
			r := newECRRequest(testBody)
			r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, "UNSIGNED-PAYLOAD", "ecr", "us-east-1", testNow); err != nil {
				t.Fatal(err)
			}
			return r, testBody
		}, code: "InvalidSignatureException", status: 403},
		{name: "skew -14 min ok", build: skewed(-14 * time.Minute)},
		{name: "skew +14 min ok", build: skewed(14 * time.Minute)},
		{name: "skew -16 min", build: skewed(-16 * time.Minute), code: "InvalidSignatureException", status: 403,
			message: "Signature expired: 20240101T001400Z is now earlier than 20240101T001500Z (20240101T003000Z - 15 min.)"},
		{name: "skew +16 min", build: skewed(16 * time.Minute), code: "InvalidSignatureException", status: 403,
			message: "Signature not yet current: 20240101T004600Z is still later than 20240101T004500Z (20240101T003000Z + 15 min.)"},
		{name: "unknown key", build: func(t *testing.T) (*http.Request, string) {
			r := newECRRequest(testBody)
			sdkSign(t, r, testBody, "AKIDUNKNOWN", testSecret, "", testNow)
			return r, testBody
		}, code: "UnrecognizedClientException", status: 403, message: msgInvalidToken},
		{name: "inactive key", build: func(t *testing.T) (*http.Request, string) {
			r := newECRRequest(testBody)
			sdkSign(t, r, testBody, "AKIDOFF", testSecret, "", testNow)
			return r, testBody
		}, code: "UnrecognizedClientException", status: 403, message: msgInvalidToken},
		{name: "temporary key with its token", build: func(t *testing.T) (*http.Request, string) {
			r := newECRRequest(testBody)
			sdkSign(t, r, testBody, "ASIATEMP", testSecret, testToken, testNow)
			return r, testBody
		}},
		{name: "temporary key without token", build: func(t *testing.T) (*http.Request, string) {
			r := newECRRequest(testBody)
			sdkSign(t, r, testBody, "ASIATEMP", testSecret, "", testNow)
			return r, testBody
		}, code: "UnrecognizedClientException", status: 403},
		{name: "temporary key wrong token", build: func(t *testing.T) (*http.Request, string) {
			r := newECRRequest(testBody)
			sdkSign(t, r, testBody, "ASIATEMP", testSecret, testToken+"x", testNow)
			return r, testBody
		}, code: "UnrecognizedClientException", status: 403},
		{name: "long-term key with a token", build: func(t *testing.T) (*http.Request, string) {
			r := newECRRequest(testBody)
			sdkSign(t, r, testBody, testAKID, testSecret, testToken, testNow)
			return r, testBody
		}, code: "UnrecognizedClientException", status: 403},
		{name: "expired temporary key", build: func(t *testing.T) (*http.Request, string) {
			r := newECRRequest(testBody)
			sdkSign(t, r, testBody, "ASIAEXPIRE", testSecret, testToken, testNow)
			return r, testBody
		}, code: "ExpiredTokenException", status: 403, message: msgExpiredToken},
		{name: "wrong service", build: good, service: "iam", code: "InvalidSignatureException", status: 403,
			message: "Credential should be scoped to correct service: 'iam'. "},
		{name: "wrong region", build: func(t *testing.T) (*http.Request, string) {
			r := newECRRequest(testBody)
			creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, bodyHash(testBody), "ecr", "eu-west-1", testNow); err != nil {
				t.Fatal(err)
			}
			return r, testBody
		}, code: "InvalidSignatureException", status: 403, message: "Credential should be scoped to a valid region. "},
		{name: "scope date differs from x-amz-date", build: func(t *testing.T) (*http.Request, string) {
			r, b := good(t)
			r.Header.Set("X-Amz-Date", "20240101T003100Z")
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/20240101/", "/20231231/", 1))
			return r, b
		}, code: "InvalidSignatureException", status: 403,
			message: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20231231' != '20240101', from '20240101T003100Z'."},
		{name: "missing authorization", build: func(t *testing.T) (*http.Request, string) {
			return newECRRequest(testBody), testBody
		}, code: "MissingAuthenticationTokenException", status: 403, message: "Missing Authentication Token"},
		{name: "two authorization headers", build: func(t *testing.T) (*http.Request, string) {
			r, b := good(t)
			r.Header.Add("Authorization", r.Header.Get("Authorization"))
			return r, b
		}, code: "IncompleteSignatureException", status: 400},
		{name: "bearer token", build: withAuthz("Bearer abc"), code: "IncompleteSignatureException", status: 400,
			message: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. Authorization=Bearer abc"},
		{name: "no date header", build: func(t *testing.T) (*http.Request, string) {
			r, b := good(t)
			r.Header.Del("X-Amz-Date")
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/ecr/aws4_request")
			return r, b
		}, code: "IncompleteSignatureException", status: 400,
			message: "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. " +
				"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. " +
				"Authorization=AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/ecr/aws4_request"},
		{name: "space after Credential=", build: withAuthz("AWS4-HMAC-SHA256 Credential= AKIDEXAMPLE/20240101/us-east-1/ecr/aws4_request, SignedHeaders=host;x-amz-date, " + sig),
			code: "IncompleteSignatureException", status: 400,
			message: "'AKIDEXAMPLE/20240101/us-east-1/ecr/aws4_request' not a valid key=value pair (missing equal-sign) in Authorization header: " +
				"'AWS4-HMAC-SHA256 Credential= AKIDEXAMPLE/20240101/us-east-1/ecr/aws4_request, SignedHeaders=host;x-amz-date, " + sig + "'."},
		{name: "four-part credential", build: withAuthz("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/aws4_request, SignedHeaders=host;x-amz-date, " + sig),
			code: "IncompleteSignatureException", status: 400,
			message: "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKIDEXAMPLE/20240101/us-east-1/aws4_request'"},
		{name: "bad terminator", build: withAuthz("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/ecr/aws5_request, SignedHeaders=host;x-amz-date, " + sig),
			code: "IncompleteSignatureException", status: 400,
			message: "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'."},
		{name: "empty access key id", build: withAuthz("AWS4-HMAC-SHA256 Credential=/20240101/us-east-1/ecr/aws4_request, SignedHeaders=host;x-amz-date, " + sig),
			code: "IncompleteSignatureException", status: 400},
		{name: "host not signed", build: withAuthz("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/ecr/aws4_request, SignedHeaders=x-amz-date, " + sig),
			code: "IncompleteSignatureException", status: 400, message: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."},
		{name: "upper-case signed header", build: withAuthz("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/ecr/aws4_request, SignedHeaders=Host;x-amz-date, " + sig),
			code: "IncompleteSignatureException", status: 400},
		{name: "empty signed header name", build: withAuthz("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/ecr/aws4_request, SignedHeaders=host;;x-amz-date, " + sig),
			code: "IncompleteSignatureException", status: 400},
		{name: "duplicate signature parameter", build: withAuthz("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/ecr/aws4_request, SignedHeaders=host;x-amz-date, " + sig + ", " + sig),
			code: "IncompleteSignatureException", status: 400},
		{name: "sigv2 header", build: withAuthz("AWS AKIDEXAMPLE:qaNdqGsI6bq4Hi+9Gzovwyjbh0E="), code: "IncompleteSignatureException", status: 400},
		{name: "malformed x-amz-date", build: func(t *testing.T) (*http.Request, string) {
			r, b := good(t)
			r.Header.Set("X-Amz-Date", "2024-01-01T00:30:00Z")
			return r, b
		}, code: "IncompleteSignatureException", status: 400,
			message: "Date must be in ISO-8601 'basic format'. Got '2024-01-01T00:30:00Z'. See http://en.wikipedia.org/wiki/ISO_8601"},
		{name: "only a Date header", build: func(t *testing.T) (*http.Request, string) {
			r, b := good(t)
			r.Header.Del("X-Amz-Date")
			r.Header.Set("Date", "Mon, 01 Jan 2024 00:30:00 GMT")
			return r, b
		}, code: "IncompleteSignatureException", status: 400},
		{name: "garbage signature", build: withAuthz("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/ecr/aws4_request, SignedHeaders=host;x-amz-date, Signature=zz"),
			code: "InvalidSignatureException", status: 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			keys := c.keys
			if keys == nil {
				keys = testKeys()
			}
			service := c.service
			if service == "" {
				service = "ecr"
			}
			r, body := c.build(t)
			p, err := newTestVerifier(keys).Verify(r, []byte(body), service)
			if c.code == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if p.ARN != testOwner.ARN || p.AccountID != testOwner.AccountID || p.AccessKeyID == "" {
					t.Fatalf("principal = %+v", p)
				}
				return
			}
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("Verify error = %v (%T), want *Error %s", err, err, c.code)
			}
			if ae.Code != c.code || ae.Status != c.status {
				t.Fatalf("error = %s/%d %q, want %s/%d", ae.Code, ae.Status, ae.Message, c.code, c.status)
			}
			if c.message != "" && ae.Message != c.message {
				t.Fatalf("message = %q\nwant      %q", ae.Message, c.message)
			}
			if p != nil {
				t.Fatalf("principal %+v returned with an error", p)
			}
		})
	}
}

func TestVerifyQueryProtocolCodes(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(r *http.Request)
		keyID  string
		code   string
		status int
	}{
		{name: "bad signature", mutate: func(r *http.Request) { r.Header.Set("X-Amz-Target", "x") }, keyID: testAKID, code: "SignatureDoesNotMatch", status: 403},
		{name: "unknown key", keyID: "AKIDNOPE", code: "InvalidClientTokenId", status: 403},
		{name: "missing", mutate: func(r *http.Request) { r.Header.Del("Authorization") }, keyID: testAKID, code: "MissingAuthenticationToken", status: 403},
		{name: "incomplete", mutate: func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 x") }, keyID: testAKID, code: "IncompleteSignature", status: 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newECRRequest(testBody)
			sdkSign(t, r, testBody, c.keyID, testSecret, "", testNow)
			if c.mutate != nil {
				c.mutate(r)
			}
			v := newTestVerifier(testKeys())
			v.Protocol = ProtocolQuery
			_, err := v.Verify(r, []byte(testBody), "ecr")
			var ae *Error
			if !errors.As(err, &ae) || ae.Code != c.code || ae.Status != c.status {
				t.Fatalf("err = %v, want %s/%d", err, c.code, c.status)
			}
		})
	}
}

func TestVerifyLookupFailureIsInternal(t *testing.T) {
	r := newECRRequest(testBody)
	sdkSign(t, r, testBody, testAKID, testSecret, "", testNow)
	boom := errors.New("database is down")
	_, err := newTestVerifier(&mapKeys{err: boom}).Verify(r, []byte(testBody), "ecr")
	var ae *Error
	if !errors.Is(err, boom) || errors.As(err, &ae) {
		t.Fatalf("err = %v, want a wrapped internal error, not an *Error", err)
	}
}

// TestVerifyThroughHTTPServer signs with the real ECR client and verifies in
// a real net/http handler, so transport details (Content-Length, Host,
// headers the client adds after signing) are exercised.
func TestVerifyThroughHTTPServer(t *testing.T) {
	var got *Principal
	var verr error
	v := &Verifier{Keys: testKeys(), Region: "us-east-1"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		got, verr = v.Verify(r, body, "ecr")
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(`{"registryId":"123456789012","replicationConfiguration":{"rules":[]}}`))
	}))
	defer srv.Close()
	client := ecr.New(ecr.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}, nil
		}),
	})
	if _, err := client.DescribeRegistry(context.Background(), &ecr.DescribeRegistryInput{}); err != nil {
		t.Fatalf("DescribeRegistry: %v", err)
	}
	if verr != nil || got == nil || got.ARN != testOwner.ARN {
		t.Fatalf("Verify = %+v, %v", got, verr)
	}
}

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/ecr/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=d69bd30985146c95366fbf3ea678951f191244b1c341cc9bb8fb43cb4ab2a341",
		"AWS4-HMAC-SHA256 Credential= a/b/c/d/e, SignedHeaders=host, Signature=x",
		"AWS4-HMAC-SHA256 ,,,=,==",
		"Bearer x",
		"",
		"AWS4-HMAC-SHA256 Credential=////, SignedHeaders=;, Signature=",
	} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, header string, hasDate bool) {
		a, msg := parseAuthorization(header, hasDate)
		if msg != "" {
			return
		}
		if a.AccessKeyID == "" || a.Signature == "" || len(a.SignedHeaders) == 0 || !hasDate {
			t.Fatalf("accepted incomplete header %q: %+v", header, a)
		}
		hasHost := false
		for _, h := range a.SignedHeaders {
			hasHost = hasHost || h == "host"
		}
		if !hasHost {
			t.Fatalf("accepted header without signed host: %q", header)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	r := newECRRequest(testBody)
	sdkSign(b, r, testBody, testAKID, testSecret, "", testNow)
	v := newTestVerifier(testKeys())
	body := []byte(testBody)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, body, "ecr"); err != nil {
			b.Fatal(err)
		}
	}
}
