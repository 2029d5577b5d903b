package ecrapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const repoPattern = `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`

func TestValidate(t *testing.T) {
	imageIDs := func(n int) string {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf(`{"imageTag":"t%d"}`, i)
		}
		return "[" + strings.Join(ids, ",") + "]"
	}
	cases := []struct {
		name, op, body string
		// want is the exact error message ("" = valid); code defaults to
		// InvalidParameterException.
		want, code string
	}{
		{name: "valid create", op: "CreateRepository", body: `{"repositoryName":"team/app-1","imageTagMutability":"IMMUTABLE"}`},
		{name: "valid nested names", op: "CreateRepository", body: `{"repositoryName":"a.b_c__d---e/f"}`},
		{name: "required missing", op: "CreateRepository", body: `{}`,
			want: "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must not be null'"},
		{name: "null is absent", op: "CreateRepository", body: `{"repositoryName":null}`,
			want: "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must not be null'"},
		{name: "empty body is an empty object", op: "CreateRepository", body: ``,
			want: "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must not be null'"},
		{name: "name too short", op: "CreateRepository", body: `{"repositoryName":"a"}`,
			want: "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must have length greater than or equal to 2'"},
		{name: "name too long", op: "CreateRepository", body: `{"repositoryName":"` + strings.Repeat("a", 257) + `"}`,
			want: "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must have length less than or equal to 256'"},
		{name: "name 256 ok", op: "CreateRepository", body: `{"repositoryName":"` + strings.Repeat("a", 256) + `"}`},
		{name: "name pattern", op: "CreateRepository", body: `{"repositoryName":"Team/App"}`,
			want: "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must satisfy regular expression pattern: " + repoPattern + "'"},
		{name: "pattern is anchored at the end", op: "CreateRepository", body: `{"repositoryName":"app/"}`,
			want: "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must satisfy regular expression pattern: " + repoPattern + "'"},
		{name: "pattern is anchored at the start", op: "CreateRepository", body: `{"repositoryName":"-app"}`,
			want: "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must satisfy regular expression pattern: " + repoPattern + "'"},
		{name: "registry id anchored", op: "CreateRepository", body: `{"repositoryName":"app","registryId":"1234567890123"}`,
			want: "Invalid parameter at 'registryId' failed to satisfy constraint: 'Member must satisfy regular expression pattern: [0-9]{12}'"},
		{name: "enum", op: "PutImageTagMutability", body: `{"repositoryName":"app","imageTagMutability":"SOMETIMES"}`,
			want: "Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]'"},
		{name: "enum case-sensitive", op: "PutImageTagMutability", body: `{"repositoryName":"app","imageTagMutability":"mutable"}`,
			want: "Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]'"},
		{name: "maxResults 1", op: "DescribeRepositories", body: `{"maxResults":1}`},
		{name: "maxResults 1000", op: "DescribeRepositories", body: `{"maxResults":1000}`},
		{name: "maxResults 0", op: "DescribeRepositories", body: `{"maxResults":0}`,
			want: "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value greater than or equal to 1'"},
		{name: "maxResults 1001", op: "DescribeRepositories", body: `{"maxResults":1001}`,
			want: "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value less than or equal to 1000'"},
		{name: "maxResults string", op: "DescribeRepositories", body: `{"maxResults":"10"}`, code: CodeSerialization,
			want: "STRING_VALUE can not be converted to an Integer at 'maxResults'"},
		{name: "maxResults fraction", op: "DescribeRepositories", body: `{"maxResults":1.5}`, code: CodeSerialization,
			want: "NUMBER_VALUE can not be converted to an Integer at 'maxResults'"},
		{name: "maxResults beyond int32", op: "DescribeRepositories", body: `{"maxResults":4294967297}`, code: CodeSerialization,
			want: "NUMBER_VALUE can not be converted to an Integer at 'maxResults'"},
		{name: "list min", op: "DescribeRepositories", body: `{"repositoryNames":[]}`,
			want: "Invalid parameter at 'repositoryNames' failed to satisfy constraint: 'Member must have length greater than or equal to 1'"},
		{name: "list member pattern", op: "DescribeRepositories", body: `{"repositoryNames":["ok-name","Bad"]}`,
			want: "Invalid parameter at 'repositoryNames.2.member' failed to satisfy constraint: 'Member must satisfy regular expression pattern: " + repoPattern + "'"},
		{name: "list max", op: "BatchGetImage", body: `{"repositoryName":"app","imageIds":` + imageIDs(101) + `}`,
			want: "Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length less than or equal to 100'"},
		{name: "list of 100 ok", op: "BatchGetImage", body: `{"repositoryName":"app","imageIds":` + imageIDs(100) + `}`},
		{name: "nested structure member", op: "BatchGetImage", body: `{"repositoryName":"app","imageIds":[{"imageTag":"ok"},{"imageTag":""}]}`,
			want: "Invalid parameter at 'imageIds.2.member.imageTag' failed to satisfy constraint: 'Member must have length greater than or equal to 1'"},
		{name: "nested required", op: "CreateRepository", body: `{"repositoryName":"app","tags":[{"Key":"k"}]}`,
			want: "Invalid parameter at 'tags.1.member.Value' failed to satisfy constraint: 'Member must not be null'"},
		{name: "nested structure type", op: "CreateRepository", body: `{"repositoryName":"app","encryptionConfiguration":"AES256"}`, code: CodeSerialization,
			want: "STRING_VALUE can not be converted to a structure at 'encryptionConfiguration'"},
		{name: "boolean type", op: "CreateRepository", body: `{"repositoryName":"app","imageScanningConfiguration":{"scanOnPush":"yes"}}`, code: CodeSerialization,
			want: "STRING_VALUE can not be converted to a Boolean at 'imageScanningConfiguration.scanOnPush'"},
		{name: "unknown members ignored", op: "CreateRepository", body: `{"repositoryName":"app","RepositoryName":"BAD","extra":{"x":[1,2]}}`},
		{name: "violations in model order", op: "BatchGetImage", body: `{"registryId":"x","imageIds":[]}`,
			want: "Invalid parameter at 'registryId' failed to satisfy constraint: 'Member must satisfy regular expression pattern: [0-9]{12}'"},
		{name: "operation without members", op: "DescribeRegistry", body: `{"anything":1}`},
		{name: "long range", op: "UploadLayerPart", body: `{"repositoryName":"app","uploadId":"0b8e7c6e-3b0a-4b8a-9d47-6c0e0e0e0e0e","partFirstByte":-1,"partLastByte":0,"layerPartBlob":"AAAA"}`,
			want: "Invalid parameter at 'partFirstByte' failed to satisfy constraint: 'Member must have value greater than or equal to 0'"},
		{name: "blob ok", op: "UploadLayerPart", body: `{"repositoryName":"app","uploadId":"0b8e7c6e-3b0a-4b8a-9d47-6c0e0e0e0e0e","partFirstByte":0,"partLastByte":2,"layerPartBlob":"AAAA"}`},
		{name: "not an object", op: "CreateRepository", body: `["app"]`, code: CodeSerialization,
			want: "START_ARRAY can not be converted to a structure"},
		{name: "not json", op: "CreateRepository", body: `{"repositoryName":`, code: CodeSerialization, want: "The request body is not valid JSON."},
		{name: "trailing data", op: "CreateRepository", body: `{"repositoryName":"app"} {}`, code: CodeSerialization,
			want: "The request body has data after the JSON object."},
		{name: "unknown operation", op: "LaunchRockets", body: `{}`, code: CodeUnknownOperation,
			want: "The operation 'LaunchRockets' is not supported."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Validate(c.op, json.RawMessage(c.body))
			if c.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			code := c.code
			if code == "" {
				code = CodeInvalidParameter
			}
			var ae *APIError
			var ve *ValidationError
			switch {
			case errors.As(err, &ve):
				ae = ve.APIError()
			case errors.As(err, &ae):
			default:
				t.Fatalf("Validate error = %v (%T)", err, err)
			}
			if ae.Code != code || ae.Status != 400 {
				t.Fatalf("code = %s/%d, want %s/400 (%s)", ae.Code, ae.Status, code, ae.Message)
			}
			if ae.Message != c.want {
				t.Fatalf("message = %q\nwant      %q", ae.Message, c.want)
			}
		})
	}
}

func TestValidateAcceptsDecodedMaps(t *testing.T) {
	// float64 numbers, as json.Unmarshal into any produces.
	var m map[string]any
	if err := json.Unmarshal([]byte(`{"maxResults":1001}`), &m); err != nil {
		t.Fatal(err)
	}
	var ve *ValidationError
	if err := Validate("DescribeRepositories", m); !errors.As(err, &ve) || ve.Violations[0].Path != "maxResults" {
		t.Fatalf("Validate(map) = %v", err)
	}
	if err := Validate("DescribeRepositories", map[string]any{"maxResults": 5.0}); err != nil {
		t.Fatal(err)
	}
	if err := Validate("DescribeRegistry", nil); err != nil {
		t.Fatal(err)
	}
}

func TestValidationErrorCoralMessage(t *testing.T) {
	err := Validate("CreateRepository", json.RawMessage(`{"repositoryName":"A"}`))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	want := "2 validation errors detected: " +
		"Value 'A' at 'repositoryName' failed to satisfy constraint: Member must have length greater than or equal to 2; " +
		"Value 'A' at 'repositoryName' failed to satisfy constraint: Member must satisfy regular expression pattern: " + repoPattern
	if got := ve.CoralMessage(); got != want {
		t.Fatalf("CoralMessage = %q\nwant           %q", got, want)
	}
	err = Validate("CreateRepository", json.RawMessage(`{}`))
	if !errors.As(err, &ve) {
		t.Fatal(err)
	}
	if got, want := ve.CoralMessage(), "1 validation error detected: Value null at 'repositoryName' failed to satisfy constraint: Member must not be null"; got != want {
		t.Fatalf("CoralMessage = %q, want %q", got, want)
	}
}

func TestValidateCapsViolations(t *testing.T) {
	names := make([]string, 100)
	for i := range names {
		names[i] = `"BAD"`
	}
	err := Validate("DescribeRepositories", json.RawMessage(`{"repositoryNames":[`+strings.Join(names, ",")+`]}`))
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Violations) != maxViolations {
		t.Fatalf("err = %v, want exactly %d violations", err, maxViolations)
	}
}

func TestValidatePrunesUnknownMembers(t *testing.T) {
	params, err := decodeParams([]byte(`{"repositoryName":"app","RepositoryName":"BAD","tags":[{"Key":"k","Value":"v","key":"x"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	pruned, err := validateParams(operations["CreateRepository"], params, true)
	if err != nil || !pruned {
		t.Fatalf("validateParams = %v, %v", pruned, err)
	}
	req := &Request{Params: params, pruned: pruned, Body: []byte(`unused`)}
	var in struct {
		RepositoryName string `json:"repositoryName"`
		Tags           []struct{ Key, Value string }
	}
	if err := req.Decode(&in); err != nil {
		t.Fatal(err)
	}
	// encoding/json would let "RepositoryName" overwrite repositoryName.
	if in.RepositoryName != "app" || len(in.Tags) != 1 || in.Tags[0].Key != "k" {
		t.Fatalf("decoded %+v", in)
	}
}

func TestBase64DecodedLen(t *testing.T) {
	for n := range 40 {
		data := make([]byte, n)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
			if got := base64DecodedLen(enc.EncodeToString(data)); got != n {
				t.Fatalf("base64DecodedLen of %d bytes = %d", n, got)
			}
		}
	}
}

func TestUTF16Len(t *testing.T) {
	for s, want := range map[string]int64{"": 0, "ab": 2, "é": 1, "日本": 2, "😀": 2, "a😀b": 4} {
		if got := utf16Len(s); got != want {
			t.Errorf("utf16Len(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestModelTables(t *testing.T) {
	// Spot-check the generated tables against the botocore model.
	op, ok := LookupOperation("GetAuthorizationToken")
	if !ok || op.Input != "GetAuthorizationTokenRequest" || op.Output != "GetAuthorizationTokenResponse" {
		t.Fatalf("GetAuthorizationToken = %+v", op)
	}
	if len(Operations()) < 50 || Operations()[0] != "BatchCheckLayerAvailability" {
		t.Fatalf("Operations() = %v", Operations())
	}
	op, _ = LookupOperation("DescribeRepositories")
	if !strings.Contains(strings.Join(op.Errors, ","), "RepositoryNotFoundException") {
		t.Fatalf("DescribeRepositories errors = %v", op.Errors)
	}
	if s, ok := ExceptionStatus("ServerException"); !ok || s != 500 {
		t.Fatalf("ServerException status %d %v", s, ok)
	}
	if s, ok := ExceptionStatus("RepositoryNotFoundException"); !ok || s != 400 {
		t.Fatalf("RepositoryNotFoundException status %d %v", s, ok)
	}
	if _, ok := ExceptionStatus("NoSuchThing"); ok {
		t.Fatal("unknown exception reported as modeled")
	}
	for i := range shapes {
		s := &shapes[i]
		for _, m := range s.Members {
			if m.Shape < 0 || int(m.Shape) >= len(shapes) {
				t.Fatalf("%s.%s points outside the shape table", s.Name, m.Name)
			}
		}
		if (s.Type == TypeList || s.Type == TypeMap) && (s.Elem < 0 || int(s.Elem) >= len(shapes)) {
			t.Fatalf("%s has no element shape", s.Name)
		}
	}
}

func FuzzValidate(f *testing.F) {
	ops := Operations()
	index := func(name string) uint16 {
		for i, op := range ops {
			if op == name {
				return uint16(i)
			}
		}
		f.Fatalf("no operation %s", name)
		return 0
	}
	for _, s := range []struct{ op, body string }{
		{"CreateRepository", `{"repositoryName":"team/app","tags":[{"Key":"a","Value":"b"}]}`},
		{"BatchGetImage", `{"repositoryName":"app","imageIds":[{"imageTag":"x"},{"imageDigest":null}]}`},
		{"DescribeRepositories", `{"maxResults":1e400,"repositoryNames":[null]}`},
		{"UploadLayerPart", `{"layerPartBlob":"AA==","partFirstByte":-9223372036854775809}`},
		{"PutLifecyclePolicy", `[]`},
		{"DescribeRegistry", ``},
	} {
		f.Add(index(s.op), []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, i uint16, body []byte) {
		op := ops[int(i)%len(ops)]
		// The dispatcher's path: decode, validate with pruning, typed decode.
		params, err := decodeParams(body)
		if err == nil {
			var pruned bool
			pruned, err = validateParams(operations[op], params, true)
			if err == nil {
				var out map[string]any
				_ = (&Request{Body: body, Params: params, pruned: pruned}).Decode(&out)
			}
		}
		if err == nil {
			return
		}
		var ae *APIError
		var ve *ValidationError
		if !errors.As(err, &ae) && !errors.As(err, &ve) {
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
		if ve != nil {
			_ = ve.Error()
			_ = ve.CoralMessage()
		}
	})
}
