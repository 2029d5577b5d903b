package registry

import (
	"slices"
	"testing"
)

func TestWildcardMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "a/b", true},
		{"prod/*", "prod/app", true},
		{"prod/*", "dev/app", false},
		{"*-app", "team-app", true},
		{"*-app", "team-api", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxc", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"ab*ba", "aba", false},
	}
	for _, tc := range tests {
		if got := WildcardMatch(tc.pattern, tc.name); got != tc.want {
			t.Errorf("WildcardMatch(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

func TestScanningForRepository(t *testing.T) {
	cfg := RegistryScanningConfiguration{ScanType: ScanTypeBasic, Rules: []ScanningRule{
		{ScanFrequency: ScanOnPushFrequency, Filters: []string{"push/*"}},
		{ScanFrequency: ScanContinuousFrequency, Filters: []string{"cont/*", "*-live"}},
	}}
	tests := []struct {
		name       string
		scanOnPush bool
		want       RepositoryScanning
	}{
		{"other", false, RepositoryScanning{ScanFrequency: ScanManualFrequency, AppliedFilters: []string{}}},
		{"other", true, RepositoryScanning{ScanOnPush: true, ScanFrequency: ScanOnPushFrequency, AppliedFilters: []string{}}},
		{"push/a", false, RepositoryScanning{ScanOnPush: true, ScanFrequency: ScanOnPushFrequency, AppliedFilters: []string{"push/*"}}},
		{"cont/a", false, RepositoryScanning{ScanOnPush: true, ScanFrequency: ScanContinuousFrequency, AppliedFilters: []string{"cont/*"}}},
		{"x-live", true, RepositoryScanning{ScanOnPush: true, ScanFrequency: ScanContinuousFrequency, AppliedFilters: []string{"*-live"}}},
	}
	for _, tc := range tests {
		got := cfg.ForRepository(tc.name, tc.scanOnPush)
		if got.ScanOnPush != tc.want.ScanOnPush || got.ScanFrequency != tc.want.ScanFrequency || !slices.Equal(got.AppliedFilters, tc.want.AppliedFilters) {
			t.Errorf("ForRepository(%q, %v) = %+v, want %+v", tc.name, tc.scanOnPush, got, tc.want)
		}
	}
}

func TestScanningValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  RegistryScanningConfiguration
		ok   bool
	}{
		{"empty is basic", RegistryScanningConfiguration{}, true},
		{"enhanced", RegistryScanningConfiguration{ScanType: ScanTypeEnhanced}, true},
		{"bad type", RegistryScanningConfiguration{ScanType: "DEEP"}, false},
		{"bad frequency", RegistryScanningConfiguration{Rules: []ScanningRule{{ScanFrequency: "HOURLY", Filters: []string{"*"}}}}, false},
		{"no filters", RegistryScanningConfiguration{Rules: []ScanningRule{{ScanFrequency: ScanOnPushFrequency}}}, false},
		{"duplicate frequency", RegistryScanningConfiguration{Rules: []ScanningRule{
			{ScanFrequency: ScanOnPushFrequency, Filters: []string{"a"}}, {ScanFrequency: ScanOnPushFrequency, Filters: []string{"b"}}}}, false},
		{"too many rules", RegistryScanningConfiguration{Rules: []ScanningRule{
			{ScanFrequency: ScanOnPushFrequency, Filters: []string{"a"}}, {ScanFrequency: ScanContinuousFrequency, Filters: []string{"b"}},
			{ScanFrequency: ScanManualFrequency, Filters: []string{"c"}}}}, false},
	}
	for _, tc := range tests {
		err := tc.cfg.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%s: Validate = %v", tc.name, err)
		}
	}
}
