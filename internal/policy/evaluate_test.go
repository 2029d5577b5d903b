package policy

import (
	"testing"
)

var (
	allowedID   = Decision{Allowed: true, Reason: ReasonAllowed, AllowingPolicy: KindIdentity}
	allowedRes  = Decision{Allowed: true, Reason: ReasonAllowed, AllowingPolicy: KindResource}
	allowedRoot = Decision{Allowed: true, Reason: ReasonAllowed}
	noAllow     = Decision{Reason: ReasonNoAllow}
	denyID      = Decision{Reason: ReasonExplicitDeny, DenyingPolicy: KindIdentity}
	denyRes     = Decision{Reason: ReasonExplicitDeny, DenyingPolicy: KindResource}
)

type evalCase struct {
	name     string
	identity []string
	resource []string
	mod      func(*Request)
	want     Decision
	wantSid  string
}

func action(a string) func(*Request)   { return func(r *Request) { r.Action = a } }
func resource(a string) func(*Request) { return func(r *Request) { r.Resource = a } }
func as(p Principal) func(*Request)    { return func(r *Request) { r.Principal = p } }
func ctx(kv ...string) func(*Request) {
	return func(r *Request) {
		r.Context = map[string][]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			r.Context[kv[i]] = append(r.Context[kv[i]], kv[i+1])
		}
	}
}
func all(fs ...func(*Request)) func(*Request) {
	return func(r *Request) {
		for _, f := range fs {
			f(r)
		}
	}
}

func ids(stmts ...string) []string { return []string{doc(stmts...)} }

const anyRes = `"*"`

func runEvalCases(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var identity, res []*Policy
			for _, d := range tc.identity {
				identity = append(identity, mustIdentity(t, d))
			}
			for _, d := range tc.resource {
				res = append(res, mustResource(t, d))
			}
			req := baseRequest()
			if tc.mod != nil {
				tc.mod(&req)
			}
			got := Evaluate(req, identity, res)
			sid := got.Sid
			got.Sid = ""
			if got != tc.want {
				t.Fatalf("Evaluate = %+v, want %+v", got, tc.want)
			}
			if tc.wantSid != "" && sid != tc.wantSid {
				t.Fatalf("Sid = %q, want %q", sid, tc.wantSid)
			}
		})
	}
}

func TestEvaluateActions(t *testing.T) {
	allowAction := func(a string) []string { return ids(st("Allow", a, anyRes)) }
	runEvalCases(t, []evalCase{
		{name: "no policies", want: noAllow},
		{name: "exact action", identity: allowAction(`"ecr:PutImage"`), want: allowedID},
		{name: "action case-insensitive policy", identity: allowAction(`"ECR:putimage"`), want: allowedID},
		{name: "action case-insensitive request", identity: allowAction(`"ecr:PutImage"`), mod: action("ecr:PUTIMAGE"), want: allowedID},
		{name: "service wildcard", identity: allowAction(`"ecr:*"`), want: allowedID},
		{name: "prefix wildcard", identity: allowAction(`"ecr:Put*"`), want: allowedID},
		{name: "prefix wildcard other case", identity: allowAction(`"ECR:put*"`), want: allowedID},
		{name: "suffix wildcard", identity: allowAction(`"ecr:*Image"`), want: allowedID},
		{name: "inner wildcard", identity: allowAction(`"ecr:P*e"`), want: allowedID},
		{name: "question mark", identity: allowAction(`"ecr:P?tImage"`), want: allowedID},
		{name: "two question marks", identity: allowAction(`"ecr:??tImage"`), want: allowedID},
		{name: "question mark needs a character", identity: allowAction(`"ecr:?PutImage"`), want: noAllow},
		{name: "star matches empty", identity: allowAction(`"ecr:PutImage*"`), want: allowedID},
		{name: "everything", identity: allowAction(`"*"`), want: allowedID},
		{name: "any service same action", identity: allowAction(`"*:PutImage"`), want: allowedID},
		{name: "other prefix", identity: allowAction(`"ecr:Get*"`), want: noAllow},
		{name: "truncated action", identity: allowAction(`"ecr:PutImag"`), want: noAllow},
		{name: "longer action", identity: allowAction(`"ecr:PutImages"`), want: noAllow},
		{name: "other service", identity: allowAction(`"s3:PutImage"`), want: noAllow},
		{name: "action list", identity: allowAction(`["ecr:BatchGetImage","ecr:PutImage"]`), want: allowedID},
		{name: "action list miss", identity: allowAction(`["ecr:BatchGetImage","ecr:ListImages"]`), want: noAllow},
		{name: "NotAction excludes others", identity: ids(st("Allow", "", anyRes, `"NotAction":"ecr:Get*"`)), want: allowedID},
		{name: "NotAction excludes this", identity: ids(st("Allow", "", anyRes, `"NotAction":"ecr:Put*"`)), want: noAllow},
		{name: "NotAction case-insensitive", identity: ids(st("Allow", "", anyRes, `"NotAction":"ECR:PUT*"`)), want: noAllow},
		{name: "NotAction list", identity: ids(st("Allow", "", anyRes, `"NotAction":["iam:*","ecr:DeleteRepository"]`)), want: allowedID},
		{name: "Deny NotAction denies everything else", identity: ids(st("Allow", `"*"`, anyRes), st("Deny", "", anyRes, `"NotAction":"ecr:Get*"`)), want: denyID},
		{name: "Deny NotAction spares listed", identity: ids(st("Allow", `"*"`, anyRes), st("Deny", "", anyRes, `"NotAction":"ecr:PutImage"`)), want: allowedID},
	})
}

func TestEvaluateResources(t *testing.T) {
	allowRes := func(r string) []string { return ids(st("Allow", `"ecr:*"`, r)) }
	runEvalCases(t, []evalCase{
		{name: "exact ARN", identity: allowRes(`"` + repoARN + `"`), want: allowedID},
		{name: "repository wildcard", identity: allowRes(`"` + repoPfx + `*"`), want: allowedID},
		{name: "resource case-sensitive", identity: allowRes(`"` + repoPfx + `App"`), want: noAllow},
		{name: "service case-sensitive", identity: allowRes(`"arn:aws:ECR:us-east-1:111122223333:repository/app"`), want: noAllow},
		{name: "region wildcard", identity: allowRes(`"arn:aws:ecr:*:111122223333:repository/app"`), want: allowedID},
		{name: "account wildcard and ?", identity: allowRes(`"arn:aws:ecr:us-east-1:*:repository/a?p"`), want: allowedID},
		{name: "prefix is not a match", identity: allowRes(`"` + repoPfx + `ap"`), want: noAllow},
		{name: "everything after account", identity: allowRes(`"arn:aws:ecr:us-east-1:111122223333:*"`), want: allowedID},
		{name: "star spans colons", identity: allowRes(`"arn:aws:ecr:*app"`), want: allowedID},
		{name: "other account", identity: allowRes(`"arn:aws:ecr:us-east-1:444455556666:repository/app"`), want: noAllow},
		{name: "other region", identity: allowRes(`"arn:aws:ecr:eu-west-1:111122223333:repository/app"`), want: noAllow},
		{name: "resource list", identity: allowRes(`["` + repoPfx + `x","` + repoARN + `"]`), want: allowedID},
		{name: "nested repository name", identity: allowRes(`"` + repoPfx + `team/*"`), mod: resource(repoPfx + "team/app"), want: allowedID},
		{name: "nested name not matched by other team", identity: allowRes(`"` + repoPfx + `team/*"`), mod: resource(repoPfx + "other/app"), want: noAllow},
		{name: "star resource for GetAuthorizationToken", identity: allowRes(anyRes), mod: all(action("ecr:GetAuthorizationToken"), resource("*")), want: allowedID},
		{name: "ARN resource does not match * request", identity: allowRes(`"` + repoPfx + `*"`), mod: all(action("ecr:GetAuthorizationToken"), resource("*")), want: noAllow},
		{name: "NotResource other", identity: ids(st("Allow", `"ecr:*"`, "", `"NotResource":"`+repoPfx+`secret"`)), want: allowedID},
		{name: "NotResource this", identity: ids(st("Allow", `"ecr:*"`, "", `"NotResource":"`+repoPfx+`*"`)), want: noAllow},
		{name: "NotResource list", identity: ids(st("Allow", `"ecr:*"`, "", `"NotResource":["`+repoPfx+`a","`+repoARN+`"]`)), want: noAllow},
		{name: "Deny NotResource denies outside", identity: ids(st("Allow", `"*"`, anyRes), st("Deny", `"ecr:*"`, "", `"NotResource":"`+repoPfx+`sandbox/*"`)), want: denyID},
		{name: "Deny NotResource spares inside", identity: ids(st("Allow", `"*"`, anyRes), st("Deny", `"ecr:*"`, "", `"NotResource":"`+repoPfx+`sandbox/*"`)), mod: resource(repoPfx + "sandbox/x"), want: allowedID},
	})
}

func TestEvaluateDenyAndCombination(t *testing.T) {
	allowAll := st("Allow", `"*"`, anyRes)
	denyPut := st("Deny", `"ecr:PutImage"`, anyRes, `"Sid":"DenyPush"`)
	resAllow := func(principal string) []string {
		return []string{doc(st("Allow", `"ecr:*"`, "", `"Principal":`+principal))}
	}
	resDeny := func(principal string) []string {
		return []string{doc(st("Deny", `"ecr:PutImage"`, "", `"Principal":`+principal))}
	}
	runEvalCases(t, []evalCase{
		{name: "deny overrides allow same policy", identity: ids(allowAll, denyPut), want: denyID, wantSid: "DenyPush"},
		{name: "deny before allow in order", identity: ids(denyPut, allowAll), want: denyID},
		{name: "deny in second policy", identity: []string{doc(allowAll), doc(denyPut)}, want: denyID},
		{name: "deny alone", identity: ids(denyPut), want: denyID},
		{name: "deny other action", identity: ids(allowAll, denyPut), mod: action("ecr:BatchGetImage"), want: allowedID},
		{name: "deny with false condition", identity: ids(allowAll, st("Deny", `"ecr:*"`, anyRes, `"Condition":{"Bool":{"aws:SecureTransport":"false"}}`)), want: allowedID},
		{name: "deny with true condition", identity: ids(allowAll, st("Deny", `"ecr:*"`, anyRes, `"Condition":{"Bool":{"aws:SecureTransport":"false"}}`)), mod: func(r *Request) { r.SecureTransport = false }, want: denyID},
		{name: "allow sid reported", identity: ids(st("Allow", `"ecr:*"`, anyRes, `"Sid":"Push"`)), want: allowedID, wantSid: "Push"},
		{name: "identity allow resource deny", identity: ids(allowAll), resource: resDeny(`"*"`), want: denyRes},
		{name: "resource allow only", resource: resAllow(`{"AWS":"` + aliceARN + `"}`), want: allowedRes},
		{name: "identity allow wins over resource allow", identity: ids(allowAll), resource: resAllow(`"*"`), want: allowedID},
		{name: "identity deny resource allow", identity: ids(denyPut), resource: resAllow(`"*"`), want: denyID},
		{name: "deny in both reports identity", identity: ids(denyPut), resource: resDeny(`"*"`), want: denyID},
		{name: "resource deny without any allow", resource: resDeny(`"*"`), want: denyRes},
		{name: "resource deny other user", identity: ids(allowAll), resource: resDeny(`{"AWS":"` + bobARN + `"}`), want: allowedID},
		{name: "resource allow other user", resource: resAllow(`{"AWS":"` + bobARN + `"}`), want: noAllow},
		{name: "resource allow user list", resource: resAllow(`{"AWS":["` + bobARN + `","` + aliceARN + `"]}`), want: allowedRes},
		{name: "resource allow account id", resource: resAllow(`{"AWS":"` + acct + `"}`), want: allowedRes},
		{name: "resource allow account root ARN", resource: resAllow(`{"AWS":"` + rootARN + `"}`), want: allowedRes},
		{name: "resource allow other account", resource: resAllow(`{"AWS":"` + otherAcc + `"}`), want: noAllow},
		{name: "resource allow other account root", resource: resAllow(`{"AWS":"arn:aws:iam::444455556666:root"}`), want: noAllow},
		{name: "resource allow star", resource: resAllow(`"*"`), want: allowedRes},
		{name: "resource allow AWS star", resource: resAllow(`{"AWS":"*"}`), want: allowedRes},
		{name: "resource principal ARN case-sensitive", resource: resAllow(`{"AWS":"arn:aws:iam::111122223333:user/Alice"}`), want: noAllow},
		{name: "resource allow service principal", resource: resAllow(`{"Service":"codebuild.amazonaws.com"}`), want: noAllow},
		{name: "resource allow other action", resource: []string{doc(st("Allow", `"ecr:BatchGetImage"`, "", `"Principal":"*"`))}, want: noAllow},
		{name: "resource policy Resource matches", resource: []string{doc(st("Allow", `"ecr:*"`, `"`+repoARN+`"`, `"Principal":"*"`))}, want: allowedRes},
		{name: "resource policy Resource differs", resource: []string{doc(st("Allow", `"ecr:*"`, `"`+repoPfx+`other"`, `"Principal":"*"`))}, want: noAllow},
		{name: "NotPrincipal deny others", identity: ids(allowAll), resource: []string{doc(st("Deny", `"ecr:*"`, "", `"NotPrincipal":{"AWS":"`+bobARN+`"}`))}, want: denyRes},
		{name: "NotPrincipal deny spares listed", identity: ids(allowAll), resource: []string{doc(st("Deny", `"ecr:*"`, "", `"NotPrincipal":{"AWS":"`+aliceARN+`"}`))}, want: allowedID},
		{name: "NotPrincipal allow excludes account", resource: []string{doc(st("Allow", `"ecr:*"`, "", `"NotPrincipal":{"AWS":"`+acct+`"}`))}, want: noAllow},
		{name: "NotPrincipal allow other account", resource: []string{doc(st("Allow", `"ecr:*"`, "", `"NotPrincipal":{"AWS":"`+otherAcc+`"}`))}, want: allowedRes},
		{name: "two resource policies deny in second", identity: ids(allowAll), resource: append(resAllow(`"*"`), resDeny(`"*"`)...), want: denyRes},
		{name: "resource allow with condition true", resource: []string{doc(st("Allow", `"ecr:*"`, "", `"Principal":"*"`, `"Condition":{"StringEquals":{"aws:PrincipalAccount":"`+acct+`"}}`))}, want: allowedRes},
		{name: "resource allow with condition false", resource: []string{doc(st("Allow", `"ecr:*"`, "", `"Principal":"*"`, `"Condition":{"StringEquals":{"aws:PrincipalAccount":"`+otherAcc+`"}}`))}, want: noAllow},
		{name: "anonymous allowed by star", resource: resAllow(`"*"`), mod: as(Principal{}), want: allowedRes},
		{name: "anonymous not an account principal", resource: resAllow(`{"AWS":"` + acct + `"}`), mod: as(Principal{}), want: noAllow},
		{name: "bob not allowed alice's grant", resource: resAllow(`{"AWS":"` + aliceARN + `"}`), mod: as(Principal{ARN: bobARN, AccountID: acct, UserName: "bob"}), want: noAllow},
	})
}

func TestEvaluateRoot(t *testing.T) {
	runEvalCases(t, []evalCase{
		{name: "root without policies", mod: as(root()), want: allowedRoot},
		{name: "root ignores identity deny", identity: ids(st("Deny", `"*"`, anyRes)), mod: as(root()), want: allowedRoot},
		{name: "root denied by resource star", resource: []string{doc(st("Deny", `"ecr:*"`, "", `"Principal":"*"`))}, mod: as(root()), want: denyRes},
		{name: "root denied by account principal", resource: []string{doc(st("Deny", `"ecr:*"`, "", `"Principal":{"AWS":"`+acct+`"}`))}, mod: as(root()), want: denyRes},
		{name: "root denied by root ARN", resource: []string{doc(st("Deny", `"ecr:*"`, "", `"Principal":{"AWS":"`+rootARN+`"}`))}, mod: as(root()), want: denyRes},
		{name: "root not denied by user principal", resource: []string{doc(st("Deny", `"ecr:*"`, "", `"Principal":{"AWS":"`+aliceARN+`"}`))}, mod: as(root()), want: allowedRoot},
		{name: "root spared by NotPrincipal root", resource: []string{doc(st("Deny", `"ecr:*"`, "", `"NotPrincipal":{"AWS":"`+rootARN+`"}`))}, mod: as(root()), want: allowedRoot},
		{name: "root allowed by resource allow", resource: []string{doc(st("Allow", `"ecr:*"`, "", `"Principal":"*"`))}, mod: as(root()), want: allowedRes},
		{name: "root deny with condition on userid", resource: []string{doc(st("Deny", `"ecr:*"`, "", `"Principal":"*"`, `"Condition":{"StringEquals":{"aws:userid":"`+acct+`"}}`))}, mod: as(root()), want: denyRes},
		{name: "root has no username", resource: []string{doc(st("Deny", `"ecr:*"`, "", `"Principal":"*"`, `"Condition":{"Null":{"aws:username":"true"}}`))}, mod: as(root()), want: denyRes},
		{name: "root has no username even if set", resource: []string{doc(st("Deny", `"ecr:*"`, "", `"Principal":"*"`, `"Condition":{"Null":{"aws:username":"true"}}`))}, mod: as(Principal{ARN: rootARN, AccountID: acct, UserName: "root", IsRoot: true}), want: denyRes},
		{name: "root principal type", resource: []string{doc(st("Deny", `"ecr:*"`, "", `"Principal":"*"`, `"Condition":{"StringEquals":{"aws:PrincipalType":"Account"}}`))}, mod: as(root()), want: denyRes},
	})
}

func TestEvaluateManagedPolicies(t *testing.T) {
	ro := []string{AmazonEC2ContainerRegistryReadOnly}
	pu := []string{AmazonEC2ContainerRegistryPowerUser}
	fa := []string{AmazonEC2ContainerRegistryFullAccess}
	po := []string{AmazonEC2ContainerRegistryPullOnly}
	token := all(action("ecr:GetAuthorizationToken"), resource("*"))
	runEvalCases(t, []evalCase{
		{name: "ReadOnly pull", identity: ro, mod: action("ecr:BatchGetImage"), want: allowedID},
		{name: "ReadOnly layer", identity: ro, mod: action("ecr:GetDownloadUrlForLayer"), want: allowedID},
		{name: "ReadOnly token", identity: ro, mod: token, want: allowedID},
		{name: "ReadOnly describe", identity: ro, mod: action("ecr:DescribeImages"), want: allowedID},
		{name: "ReadOnly scan findings", identity: ro, mod: action("ecr:DescribeImageScanFindings"), want: allowedID},
		{name: "ReadOnly no push", identity: ro, want: noAllow},
		{name: "ReadOnly no upload", identity: ro, mod: action("ecr:InitiateLayerUpload"), want: noAllow},
		{name: "ReadOnly no delete", identity: ro, mod: action("ecr:DeleteRepository"), want: noAllow},
		{name: "PowerUser push", identity: pu, want: allowedID},
		{name: "PowerUser upload part", identity: pu, mod: action("ecr:UploadLayerPart"), want: allowedID},
		{name: "PowerUser pull", identity: pu, mod: action("ecr:BatchGetImage"), want: allowedID},
		{name: "PowerUser no create", identity: pu, mod: action("ecr:CreateRepository"), want: noAllow},
		{name: "PowerUser no delete image", identity: pu, mod: action("ecr:BatchDeleteImage"), want: noAllow},
		{name: "PowerUser no set policy", identity: pu, mod: action("ecr:SetRepositoryPolicy"), want: noAllow},
		{name: "FullAccess delete", identity: fa, mod: action("ecr:DeleteRepository"), want: allowedID},
		{name: "FullAccess push", identity: fa, want: allowedID},
		{name: "FullAccess no iam", identity: fa, mod: action("iam:CreateUser"), want: noAllow},
		{name: "FullAccess service-linked role for replication", identity: fa, mod: all(action("iam:CreateServiceLinkedRole"), resource("*"), ctx("iam:AWSServiceName", "replication.ecr.amazonaws.com")), want: allowedID},
		{name: "FullAccess service-linked role other service", identity: fa, mod: all(action("iam:CreateServiceLinkedRole"), resource("*"), ctx("iam:AWSServiceName", "ec2.amazonaws.com")), want: noAllow},
		{name: "FullAccess service-linked role without key", identity: fa, mod: all(action("iam:CreateServiceLinkedRole"), resource("*")), want: noAllow},
		{name: "PullOnly pull", identity: po, mod: action("ecr:BatchGetImage"), want: allowedID},
		{name: "PullOnly no describe", identity: po, mod: action("ecr:DescribeImages"), want: noAllow},
		{name: "ReadOnly plus repository deny", identity: ro, resource: []string{doc(st("Deny", `"ecr:BatchGetImage"`, "", `"Principal":{"AWS":"`+aliceARN+`"}`))}, mod: action("ecr:BatchGetImage"), want: denyRes},
		{name: "ReadOnly plus repository push grant", identity: ro, resource: []string{doc(st("Allow", `["ecr:PutImage","ecr:InitiateLayerUpload"]`, "", `"Principal":{"AWS":"`+aliceARN+`"}`))}, want: allowedRes},
	})
}

func TestEvaluateVariables(t *testing.T) {
	allowRes := func(r string) []string { return ids(st("Allow", `"ecr:*"`, `"`+r+`"`)) }
	allowCond := func(c string) []string { return ids(st("Allow", `"ecr:*"`, anyRes, `"Condition":`+c)) }
	noName := Principal{ARN: "arn:aws:sts::111122223333:assumed-role/r/s", AccountID: acct, UserID: "AROA:s"}
	runEvalCases(t, []evalCase{
		{name: "username in resource", identity: allowRes(repoPfx + "${aws:username}/*"), mod: resource(repoPfx + "alice/app"), want: allowedID},
		{name: "username in resource other user", identity: allowRes(repoPfx + "${aws:username}/*"), mod: resource(repoPfx + "bob/app"), want: noAllow},
		{name: "variable key case-insensitive", identity: allowRes(repoPfx + "${AWS:UserName}/*"), mod: resource(repoPfx + "alice/app"), want: allowedID},
		{name: "variable with spaces", identity: allowRes(repoPfx + "${ aws:username }/*"), mod: resource(repoPfx + "alice/app"), want: allowedID},
		{name: "userid in resource", identity: allowRes(repoPfx + "${aws:userid}"), mod: resource(repoPfx + "AIDAALICE"), want: allowedID},
		{name: "account in resource", identity: allowRes("arn:aws:ecr:*:${aws:PrincipalAccount}:repository/*"), want: allowedID},
		{name: "account in resource other account", identity: allowRes("arn:aws:ecr:*:${aws:PrincipalAccount}:repository/*"), mod: resource("arn:aws:ecr:us-east-1:444455556666:repository/app"), want: noAllow},
		{name: "unresolvable variable never matches", identity: allowRes(repoPfx + "${aws:username}*"), mod: all(as(noName), resource(repoPfx+"app")), want: noAllow},
		{name: "unresolvable variable in NotResource entry", identity: ids(st("Allow", `"ecr:*"`, "", `"NotResource":"`+repoPfx+`${aws:username}"`)), mod: all(as(noName), resource(repoPfx+"app")), want: allowedID},
		{name: "default value for missing key", identity: allowRes(repoPfx + "${aws:username, 'shared'}/*"), mod: all(as(noName), resource(repoPfx+"shared/app")), want: allowedID},
		{name: "default ignored when key present", identity: allowRes(repoPfx + "${aws:username, 'shared'}/*"), mod: resource(repoPfx + "shared/app"), want: noAllow},
		{name: "escape star is literal", identity: allowRes(repoPfx + "${*}"), mod: resource(repoPfx + "*"), want: allowedID},
		{name: "escape star matches no other", identity: allowRes(repoPfx + "${*}"), want: noAllow},
		{name: "escape question mark", identity: allowRes(repoPfx + "a${?}"), mod: resource(repoPfx + "a?"), want: allowedID},
		{name: "escape question mark literal", identity: allowRes(repoPfx + "a${?}"), mod: resource(repoPfx + "ab"), want: noAllow},
		{name: "escape dollar", identity: allowRes(repoPfx + "${$}x"), mod: resource(repoPfx + "$x"), want: allowedID},
		{name: "substituted value is literal", identity: allowRes(repoPfx + "${aws:username}"), mod: all(as(Principal{ARN: aliceARN, AccountID: acct, UserName: "a*"}), resource(repoPfx+"alice")), want: noAllow},
		{name: "substituted value matches itself", identity: allowRes(repoPfx + "${aws:username}"), mod: all(as(Principal{ARN: aliceARN, AccountID: acct, UserName: "a*"}), resource(repoPfx+"a*")), want: allowedID},
		{name: "unterminated variable is text", identity: allowRes(repoPfx + "${aws:username"), mod: resource(repoPfx + "${aws:username"), want: allowedID},
		{name: "context key as variable", identity: allowRes(repoPfx + "${aws:PrincipalTag/team}/*"), mod: all(ctx("aws:PrincipalTag/team", "blue"), resource(repoPfx+"blue/app")), want: allowedID},
		{name: "multi-valued key is no variable", identity: allowRes(repoPfx + "${aws:TagKeys}"), mod: all(ctx("aws:TagKeys", "a", "aws:TagKeys", "b"), resource(repoPfx+"a")), want: noAllow},
		{name: "2008 version keeps variables literal", identity: []string{`{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"` + repoPfx + `${aws:username}"}}`}, mod: resource(repoPfx + "alice"), want: noAllow},
		{name: "2008 version literal text matches", identity: []string{`{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"` + repoPfx + `${aws:username}"}}`}, mod: resource(repoPfx + "${aws:username}"), want: allowedID},
		{name: "no version keeps variables literal", identity: []string{`{"Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"` + repoPfx + `${aws:username}"}}`}, mod: resource(repoPfx + "alice"), want: noAllow},
		{name: "variable in condition value", identity: allowCond(`{"StringEquals":{"aws:ResourceTag/owner":"${aws:username}"}}`), mod: ctx("aws:ResourceTag/owner", "alice"), want: allowedID},
		{name: "variable in condition value differs", identity: allowCond(`{"StringEquals":{"aws:ResourceTag/owner":"${aws:username}"}}`), mod: ctx("aws:ResourceTag/owner", "bob"), want: noAllow},
		{name: "variable in StringLike value", identity: allowCond(`{"StringLike":{"aws:ResourceTag/owner":"${aws:username}-*"}}`), mod: ctx("aws:ResourceTag/owner", "alice-ci"), want: allowedID},
		{name: "variable in ArnLike value", identity: allowCond(`{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::${aws:PrincipalAccount}:user/*"}}`), want: allowedID},
		{name: "unresolvable variable makes negated condition false", identity: allowCond(`{"StringNotEquals":{"aws:ResourceTag/owner":"${aws:username}"}}`), mod: all(as(noName), ctx("aws:ResourceTag/owner", "bob")), want: noAllow},
	})
}

func TestDecisionMessages(t *testing.T) {
	req := baseRequest()
	tests := []struct {
		d    Decision
		want string
	}{
		{noAllow, "User: " + aliceARN + " is not authorized to perform: ecr:PutImage on resource: " + repoARN + " because no identity-based policy allows the ecr:PutImage action"},
		{denyID, "User: " + aliceARN + " is not authorized to perform: ecr:PutImage on resource: " + repoARN + " with an explicit deny in an identity-based policy"},
		{denyRes, "User: " + aliceARN + " is not authorized to perform: ecr:PutImage on resource: " + repoARN + " with an explicit deny in a resource-based policy"},
	}
	for _, tc := range tests {
		if got := tc.d.Message(&req); got != tc.want {
			t.Errorf("Message(%+v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	if got := allowedID.Explanation("ecr:PutImage"); got != "" {
		t.Errorf("Explanation of an allow = %q", got)
	}
}

func TestEvaluateNilPolicies(t *testing.T) {
	p := mustIdentity(t, doc(st("Allow", `"ecr:*"`, anyRes)))
	got := Evaluate(baseRequest(), []*Policy{nil, p}, []*Policy{nil})
	if !got.Allowed {
		t.Fatalf("Evaluate with nil entries = %+v, want allowed", got)
	}
}
