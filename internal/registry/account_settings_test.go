package registry_test

import (
	"context"
	"testing"

	"github.com/berth-registry/berth/internal/registry"
)

func TestAccountSettings(t *testing.T) {
	ctx := context.Background()
	r, _ := newCore(t, false)
	steps := []struct {
		name     string
		put      bool
		setting  string
		value    string // put: the value; get: the wanted value
		wantKind registry.Kind
		wantErr  bool
	}{
		{"default blob mounting", false, registry.SettingBlobMounting, "DISABLED", 0, false},
		{"default policy scope", false, registry.SettingRegistryPolicyScope, "V2", 0, false},
		{"default scan type", false, registry.SettingBasicScanTypeVersion, "AWS_NATIVE", 0, false},
		{"unknown name get", false, "NOPE", "", registry.KindInvalidParameter, true},
		{"unknown name put", true, "NOPE", "ENABLED", registry.KindInvalidParameter, true},
		{"bad value", true, registry.SettingBlobMounting, "enabled", registry.KindInvalidParameter, true},
		{"value of another setting", true, registry.SettingRegistryPolicyScope, "ENABLED", registry.KindInvalidParameter, true},
		{"enable mounting", true, registry.SettingBlobMounting, "ENABLED", 0, false},
		{"mounting enabled", false, registry.SettingBlobMounting, "ENABLED", 0, false},
		{"scope v1", true, registry.SettingRegistryPolicyScope, "V1", 0, false},
		{"scope is v1", false, registry.SettingRegistryPolicyScope, "V1", 0, false},
		{"mounting unchanged by other put", false, registry.SettingBlobMounting, "ENABLED", 0, false},
		{"disable mounting", true, registry.SettingBlobMounting, "DISABLED", 0, false},
		{"mounting disabled", false, registry.SettingBlobMounting, "DISABLED", 0, false},
	}
	for _, st := range steps {
		var got string
		var err error
		if st.put {
			err = r.PutAccountSetting(ctx, st.setting, st.value)
		} else {
			got, err = r.AccountSetting(ctx, st.setting)
		}
		if st.wantErr {
			if registry.KindOf(err) != st.wantKind || err == nil {
				t.Fatalf("%s: err = %v, want kind %v", st.name, err, st.wantKind)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if !st.put && got != st.value {
			t.Fatalf("%s: got %q, want %q", st.name, got, st.value)
		}
	}
	on, err := r.BlobMountingEnabled(ctx)
	if err != nil || on {
		t.Fatalf("BlobMountingEnabled = %v, %v; want false", on, err)
	}
}
