package policy

import "testing"

// benchRepositoryPolicy is a typical repository policy: the account pulls,
// a CI user pushes, and nobody pushes over plain HTTP.
const benchRepositoryPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "AccountPull", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
     "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]},
    {"Sid": "CIPush", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/ci"},
     "Action": ["ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload"]},
    {"Sid": "TLSOnly", "Effect": "Deny", "Principal": "*", "Action": "ecr:*",
     "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
  ]
}`

func BenchmarkEvaluate(b *testing.B) {
	identity := []*Policy{mustIdentity(b, AmazonEC2ContainerRegistryReadOnly)}
	resource := []*Policy{mustResource(b, benchRepositoryPolicy)}
	cases := []struct {
		name   string
		action string
		want   bool
	}{
		{"pull", "ecr:BatchGetImage", true},
		{"push-denied", "ecr:PutImage", false},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			req := baseRequest()
			req.Action = c.action
			b.ReportAllocs()
			for b.Loop() {
				if d := Evaluate(req, identity, resource); d.Allowed != c.want {
					b.Fatalf("Evaluate = %+v", d)
				}
			}
		})
	}
}

func BenchmarkEvaluateConditions(b *testing.B) {
	identity := []*Policy{mustIdentity(b, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"ecr:*","Resource":"arn:aws:ecr:*:${aws:PrincipalAccount}:repository/${aws:username}/*",
		 "Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]},
		              "DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},
		              "ForAllValues:StringLike":{"aws:TagKeys":["env","team*"]}}}]}`)}
	req := baseRequest()
	req.Resource = repoPfx + "alice/app"
	req.Context = map[string][]string{"aws:tagkeys": {"env", "team-a"}}
	b.ReportAllocs()
	for b.Loop() {
		if d := Evaluate(req, identity, nil); !d.Allowed {
			b.Fatalf("Evaluate = %+v", d)
		}
	}
}

func BenchmarkParseIdentityPolicy(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseIdentityPolicy(AmazonEC2ContainerRegistryPowerUser); err != nil {
			b.Fatal(err)
		}
	}
}
