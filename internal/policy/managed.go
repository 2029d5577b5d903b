package policy

// The AWS managed policies for ECR, as their documents read in AWS's
// published managed-policy data (default version v3 of each; ReadOnly and
// PowerUser updated 2019-12-10, FullAccess 2020-12-05). AWS revises managed
// policies from time to time; these are the versions Berth mirrors.
const (
	// AmazonEC2ContainerRegistryReadOnly: pull and describe.
	AmazonEC2ContainerRegistryReadOnly = `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "ecr:GetAuthorizationToken",
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:GetRepositoryPolicy",
                "ecr:DescribeRepositories",
                "ecr:ListImages",
                "ecr:DescribeImages",
                "ecr:BatchGetImage",
                "ecr:GetLifecyclePolicy",
                "ecr:GetLifecyclePolicyPreview",
                "ecr:ListTagsForResource",
                "ecr:DescribeImageScanFindings"
            ],
            "Resource": "*"
        }
    ]
}`

	// AmazonEC2ContainerRegistryPowerUser: ReadOnly plus push. It cannot
	// create or delete repositories or change their policies.
	AmazonEC2ContainerRegistryPowerUser = `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "ecr:GetAuthorizationToken",
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:GetRepositoryPolicy",
                "ecr:DescribeRepositories",
                "ecr:ListImages",
                "ecr:DescribeImages",
                "ecr:BatchGetImage",
                "ecr:GetLifecyclePolicy",
                "ecr:GetLifecyclePolicyPreview",
                "ecr:ListTagsForResource",
                "ecr:DescribeImageScanFindings",
                "ecr:InitiateLayerUpload",
                "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload",
                "ecr:PutImage"
            ],
            "Resource": "*"
        }
    ]
}`

	// AmazonEC2ContainerRegistryFullAccess: everything in ECR, plus creating
	// the replication service-linked role. cloudtrail:LookupEvents is in
	// AWS's document (for the console's event view); Berth has no such
	// action, so it is inert here.
	AmazonEC2ContainerRegistryFullAccess = `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "ecr:*",
                "cloudtrail:LookupEvents"
            ],
            "Resource": "*"
        },
        {
            "Effect": "Allow",
            "Action": [
                "iam:CreateServiceLinkedRole"
            ],
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "iam:AWSServiceName": [
                        "replication.ecr.amazonaws.com"
                    ]
                }
            }
        }
    ]
}`

	// AmazonEC2ContainerRegistryPullOnly (2024): pull only, without the
	// describe actions of ReadOnly. ecr:BatchImportUpstreamImage serves
	// pull-through cache, which Berth does not implement.
	AmazonEC2ContainerRegistryPullOnly = `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "ecr:GetAuthorizationToken",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchImportUpstreamImage"
            ],
            "Resource": "*"
        }
    ]
}`
)

// ManagedPolicies maps the managed policy names to their documents.
var ManagedPolicies = map[string]string{
	"AmazonEC2ContainerRegistryReadOnly":   AmazonEC2ContainerRegistryReadOnly,
	"AmazonEC2ContainerRegistryPowerUser":  AmazonEC2ContainerRegistryPowerUser,
	"AmazonEC2ContainerRegistryFullAccess": AmazonEC2ContainerRegistryFullAccess,
	"AmazonEC2ContainerRegistryPullOnly":   AmazonEC2ContainerRegistryPullOnly,
}

// ManagedPolicyARN returns the ARN of an AWS managed policy by name.
func ManagedPolicyARN(name string) string { return "arn:aws:iam::aws:policy/" + name }
