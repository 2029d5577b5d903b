package iamapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// FuzzQueryRequest sends arbitrary form bodies, signed with the root key
// (so they reach the actions) or with an arbitrary Authorization header,
// and checks the handler always answers with an XML document and a sane
// status, never a panic.
func FuzzQueryRequest(f *testing.F) {
	e := newEnv(f)
	f.Add([]byte("Action=CreateUser&Version=2010-05-08&UserName=fuzz"), true, "", "iam")
	f.Add([]byte("Action=GetCallerIdentity&Version=2011-06-15"), true, "", "sts")
	f.Add([]byte("Action=PutUserPolicy&Version=2010-05-08&UserName=fuzz&PolicyName=p&PolicyDocument=%7B%7D"), true, "", "iam")
	f.Add([]byte("Action=ListUsers&Version=2010-05-08&MaxItems=1&Marker=%ZZ"), true, "", "iam")
	f.Add([]byte("%%%"), false, "AWS4-HMAC-SHA256 Credential=AKIA/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00", "iam")
	f.Add([]byte(""), false, "Credential=////", "")
	f.Fuzz(func(t *testing.T, body []byte, sign bool, authz, service string) {
		r := httptest.NewRequest(http.MethodPost, "http://berth.test/", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sign {
			if service != "sts" {
				service = "iam"
			}
			sum := sha256.Sum256(body)
			if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: rootKeyID, SecretAccessKey: rootSecret},
				r, hex.EncodeToString(sum[:]), service, testRegion, time.Now()); err != nil {
				t.Fatal(err)
			}
		} else if !strings.ContainsAny(authz, "\r\n\x00") {
			r.Header.Set("Authorization", authz)
		}
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, r)
		if w.Code < 200 || w.Code >= 600 || w.Code == http.StatusInternalServerError {
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
		if !strings.HasPrefix(w.Body.String(), "<?xml") {
			t.Fatalf("non-XML answer %q", w.Body)
		}
	})
}
