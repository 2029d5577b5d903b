package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/berth-registry/berth/internal/meta"
)

// Account settings (ECR's GetAccountSetting / PutAccountSetting). They are
// registry-wide and live in the metadata settings map, so every node sees
// the same values.
const (
	SettingBlobMounting         = "BLOB_MOUNTING"
	SettingRegistryPolicyScope  = "REGISTRY_POLICY_SCOPE"
	SettingBasicScanTypeVersion = "BASIC_SCAN_TYPE_VERSION"
)

// accountSettings lists each setting's allowed values; the first is the
// default.
var accountSettings = map[string][]string{
	SettingBasicScanTypeVersion: {"AWS_NATIVE", "CLAIR"},
	SettingRegistryPolicyScope:  {"V2", "V1"},
	SettingBlobMounting:         {"DISABLED", "ENABLED"},
}

// accountSettingNames is the enum in ECR's order, for messages.
var accountSettingNames = []string{SettingBasicScanTypeVersion, SettingRegistryPolicyScope, SettingBlobMounting}

const accountSettingKeyPrefix = "ecr.account-setting."

func checkAccountSettingName(name string) ([]string, error) {
	values, ok := accountSettings[name]
	if !ok {
		return nil, Errorf(KindInvalidParameter,
			"Invalid parameter at 'name' failed to satisfy constraint: 'Member must satisfy enum value set: [%s]'",
			strings.Join(accountSettingNames, ", "))
	}
	return values, nil
}

// AccountSetting returns an account setting's value, its default when it was
// never set.
func (r *Registry) AccountSetting(ctx context.Context, name string) (string, error) {
	values, err := checkAccountSettingName(name)
	if err != nil {
		return "", err
	}
	v, err := r.meta.GetSetting(ctx, accountSettingKeyPrefix+name)
	if errors.Is(err, meta.ErrNotFound) {
		return values[0], nil
	}
	if err != nil {
		return "", internal(err, "get account setting %s", name)
	}
	if !slices.Contains(values, string(v)) {
		return "", internal(fmt.Errorf("stored value %q is not valid", v), "get account setting %s", name)
	}
	return string(v), nil
}

// PutAccountSetting validates and stores an account setting.
func (r *Registry) PutAccountSetting(ctx context.Context, name, value string) error {
	values, err := checkAccountSettingName(name)
	if err != nil {
		return err
	}
	if !slices.Contains(values, value) {
		return Errorf(KindInvalidParameter,
			"Invalid parameter at 'value' failed to satisfy constraint: 'Member must satisfy enum value set: [%s]'",
			strings.Join(values, ", "))
	}
	if err := r.meta.PutSetting(ctx, accountSettingKeyPrefix+name, []byte(value)); err != nil {
		return internal(err, "put account setting %s", name)
	}
	return nil
}

// BlobMountingEnabled reports whether cross-repository blob mounting is on
// (the BLOB_MOUNTING account setting).
func (r *Registry) BlobMountingEnabled(ctx context.Context) (bool, error) {
	v, err := r.AccountSetting(ctx, SettingBlobMounting)
	return v == "ENABLED", err
}
