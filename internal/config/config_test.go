package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "berth.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	c, err := Load(nil, envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Listen:           ":5000",
		DataDir:          "./berth-data",
		PublicURL:        "http://127.0.0.1:5000",
		PublicURLDerived: true,
		LogLevel:         "info",
		LogFormat:        "json",
		UploadTTL:        24 * time.Hour,
		ShutdownTimeout:  30 * time.Second,
		Region:           "us-east-1",
		GCInterval:       time.Hour, GCGracePeriod: 24 * time.Hour,
		LifecycleInterval: time.Hour,
		ScanWorkers:       1, ScanQuota: 24 * time.Hour,
	}
	if c != want {
		t.Errorf("Load() = %+v, want %+v", c, want)
	}
}

func TestPrecedence(t *testing.T) {
	file := writeFile(t, "listen: 127.0.0.1:6000\nlog-level: warn\nupload-ttl: 1h\ncreate-on-push: true\n")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(*Config)
	}{
		{
			name: "file over default",
			args: []string{"--config", file},
			want: func(c *Config) {
				c.Listen, c.PublicURL = "127.0.0.1:6000", "http://127.0.0.1:6000"
				c.LogLevel, c.UploadTTL, c.CreateOnPush = "warn", time.Hour, true
			},
		},
		{
			name: "config file named by env",
			env:  map[string]string{"BERTH_CONFIG": file},
			want: func(c *Config) {
				c.Listen, c.PublicURL = "127.0.0.1:6000", "http://127.0.0.1:6000"
				c.LogLevel, c.UploadTTL, c.CreateOnPush = "warn", time.Hour, true
			},
		},
		{
			name: "env over file",
			args: []string{"--config", file},
			env:  map[string]string{"BERTH_LISTEN": ":7000", "BERTH_CREATE_ON_PUSH": "false", "BERTH_UPLOAD_TTL": "2h"},
			want: func(c *Config) {
				c.Listen, c.PublicURL = ":7000", "http://127.0.0.1:7000"
				c.LogLevel, c.UploadTTL = "warn", 2*time.Hour
			},
		},
		{
			name: "flag over env over file",
			args: []string{"--config", file, "--listen", ":8000", "-log-level=debug", "--create-on-push"},
			env:  map[string]string{"BERTH_LISTEN": ":7000", "BERTH_LOG_LEVEL": "error", "BERTH_CREATE_ON_PUSH": "false"},
			want: func(c *Config) {
				c.Listen, c.PublicURL = ":8000", "http://127.0.0.1:8000"
				c.LogLevel, c.UploadTTL, c.CreateOnPush = "debug", time.Hour, true
			},
		},
		{
			name: "flag order does not matter",
			args: []string{"--listen", ":8000", "--config", file},
			want: func(c *Config) {
				c.Listen, c.PublicURL = ":8000", "http://127.0.0.1:8000"
				c.LogLevel, c.UploadTTL, c.CreateOnPush = "warn", time.Hour, true
			},
		},
		{
			name: "empty env counts as unset",
			env:  map[string]string{"BERTH_LISTEN": "", "BERTH_UPLOAD_TTL": ""},
			want: func(c *Config) {},
		},
		{
			name: "explicit public url wins over derivation",
			args: []string{"--public-url", "https://registry.example.com/"},
			want: func(c *Config) { c.PublicURL, c.PublicURLDerived = "https://registry.example.com", false },
		},
		{
			name: "every remaining setting by flag",
			args: []string{"--data-dir", "/d", "--log-format", "TEXT", "--shutdown-timeout", "5s",
				"--tls-cert", "c.pem", "--tls-key", "k.pem", "--debug-pprof"},
			want: func(c *Config) {
				c.DataDir, c.LogFormat, c.ShutdownTimeout = "/d", "text", 5*time.Second
				c.TLSCert, c.TLSKey, c.DebugPprof = "c.pem", "k.pem", true
				c.PublicURL = "https://127.0.0.1:5000"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(tt.args, envMap(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			want := Default()
			want.PublicURL, want.PublicURLDerived = "http://127.0.0.1:5000", true
			tt.want(&want)
			if got != want {
				t.Errorf("Load() =\n %+v\nwant\n %+v", got, want)
			}
		})
	}
}

func TestDerivedPublicURL(t *testing.T) {
	tests := []struct{ listen, want string }{
		{":5000", "http://127.0.0.1:5000"},
		{"0.0.0.0:80", "http://127.0.0.1:80"},
		{"[::]:5000", "http://127.0.0.1:5000"},
		{"10.1.2.3:5000", "http://10.1.2.3:5000"},
		{"[::1]:5000", "http://[::1]:5000"},
		{"localhost:5055", "http://localhost:5055"},
	}
	for _, tt := range tests {
		c, err := Load([]string{"--listen", tt.listen}, envMap(nil))
		if err != nil {
			t.Errorf("listen %q: %v", tt.listen, err)
			continue
		}
		if c.PublicURL != tt.want {
			t.Errorf("listen %q: PublicURL = %q, want %q", tt.listen, c.PublicURL, tt.want)
		}
	}
}

func TestInvalid(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		file    string
		wantErr string
	}{
		{name: "bad duration flag", args: []string{"--upload-ttl", "soon"}, wantErr: `flag --upload-ttl: invalid duration "soon"`},
		{name: "bad duration env", env: map[string]string{"BERTH_SHUTDOWN_TIMEOUT": "10"}, wantErr: `environment BERTH_SHUTDOWN_TIMEOUT: invalid duration "10"`},
		{name: "bad duration file", file: "upload-ttl: forever\n", wantErr: `line 1: upload-ttl: invalid duration "forever"`},
		{name: "negative duration", args: []string{"--upload-ttl", "-1h"}, wantErr: "upload-ttl: must be positive"},
		{name: "zero shutdown timeout", args: []string{"--shutdown-timeout", "0s"}, wantErr: "shutdown-timeout: must be positive"},
		{name: "bad bool env", env: map[string]string{"BERTH_CREATE_ON_PUSH": "sure"}, wantErr: `invalid boolean "sure"`},
		{name: "bad bool file", file: "debug-pprof: yes please\n", wantErr: `invalid boolean "yes please"`},
		{name: "unknown level", args: []string{"--log-level", "verbose"}, wantErr: `log-level: unknown level "verbose"`},
		{name: "unknown format", args: []string{"--log-format", "xml"}, wantErr: `log-format: unknown format "xml"`},
		{name: "listen without port", args: []string{"--listen", "localhost"}, wantErr: `listen: invalid address "localhost"`},
		{name: "listen with named port", args: []string{"--listen", ":http"}, wantErr: `listen: invalid port "http"`},
		{name: "listen port out of range", args: []string{"--listen", ":70000"}, wantErr: `listen: invalid port "70000"`},
		{name: "public url without scheme", args: []string{"--public-url", "registry.example.com"}, wantErr: "public-url: invalid URL"},
		{name: "public url ftp", args: []string{"--public-url", "ftp://x"}, wantErr: "scheme must be http or https"},
		{name: "public url garbage", args: []string{"--public-url", "http://%zz"}, wantErr: `public-url: invalid URL "http://%zz"`},
		{name: "public url with path", args: []string{"--public-url", "https://x.example/registry"}, wantErr: "must not have a path"},
		{name: "public url with credentials", args: []string{"--public-url", "https://u:p@x.example"}, wantErr: "must not contain credentials"},
		{name: "empty data dir", args: []string{"--data-dir", ""}, wantErr: "data-dir: must not be empty"},
		{name: "tls cert without key", args: []string{"--tls-cert", "c.pem"}, wantErr: "tls-cert and tls-key must be set together"},
		{name: "unknown flag", args: []string{"--listn", ":1"}, wantErr: "flag provided but not defined: -listn"},
		{name: "positional argument", args: []string{"extra"}, wantErr: `unexpected argument "extra"`},
		{name: "unknown file key", file: "listen: :1\nlisten_addr: :2\n", wantErr: `line 2: unknown key "listen_addr"`},
		{name: "config key inside file", file: "config: other.yaml\n", wantErr: `unknown key "config"`},
		{name: "duplicate file key", file: "listen: :1\nlisten: :2\n", wantErr: `line 2: duplicate key "listen"`},
		{name: "file not a mapping", file: "- listen\n", wantErr: "want a mapping"},
		{name: "file nested value", file: "listen:\n  host: x\n", wantErr: "listen: want a single value"},
		{name: "file syntax error", file: "listen: [\n", wantErr: "config file"},
		{name: "account id too short", args: []string{"--account-id", "12345"}, wantErr: `account-id: "12345" must be exactly 12 digits`},
		{name: "account id not digits", env: map[string]string{"BERTH_ACCOUNT_ID": "12345678901x"}, wantErr: "account-id"},
		{name: "bad region", args: []string{"--region", "US East"}, wantErr: `region: invalid region "US East"`},
		{name: "root key id without secret", env: map[string]string{"BERTH_ROOT_ACCESS_KEY_ID": "AKIAEXAMPLE000000000"},
			wantErr: "BERTH_ROOT_ACCESS_KEY_ID and BERTH_ROOT_SECRET_ACCESS_KEY must be set together"},
		{name: "missing file", args: []string{"--config", "/nonexistent/berth.yaml"}, wantErr: "config file: open /nonexistent/berth.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file != "" {
				args = append([]string{"--config", writeFile(t, tt.file)}, args...)
			}
			_, err := Load(args, envMap(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Load() error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestFileEdgeCases(t *testing.T) {
	tests := []struct {
		name string
		file string
		want func(*Config)
	}{
		{name: "empty file", file: "", want: func(*Config) {}},
		{name: "comments only", file: "# nothing\n", want: func(*Config) {}},
		{name: "null value clears", file: "data-dir: /x\ntls-cert:\n", want: func(c *Config) { c.DataDir = "/x" }},
		{name: "quoted values", file: "listen: \":6000\"\nshutdown-timeout: '1m'\n", want: func(c *Config) {
			c.Listen, c.PublicURL, c.ShutdownTimeout = ":6000", "http://127.0.0.1:6000", time.Minute
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load([]string{"--config", writeFile(t, tt.file)}, envMap(nil))
			if err != nil {
				t.Fatal(err)
			}
			want := Default()
			want.PublicURL, want.PublicURLDerived = "http://127.0.0.1:5000", true
			tt.want(&want)
			if got != want {
				t.Errorf("Load() = %+v, want %+v", got, want)
			}
		})
	}
}

func TestFileTooLarge(t *testing.T) {
	big := "# " + strings.Repeat("x", maxFileSize) + "\n"
	_, err := Load([]string{"--config", writeFile(t, big)}, envMap(nil))
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Load() error = %v, want a size error", err)
	}
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		if _, err := Load([]string{arg}, envMap(nil)); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("Load(%s) error = %v, want flag.ErrHelp", arg, err)
		}
	}
	var b strings.Builder
	Usage(&b)
	for _, st := range settings {
		if !strings.Contains(b.String(), "--"+st.name) || !strings.Contains(b.String(), EnvName(st.name)) {
			t.Errorf("Usage does not mention --%s and %s", st.name, EnvName(st.name))
		}
	}
}

// TestSettingsTable checks that every entry is well formed: unique names,
// a parseable default, and a distinct Config field.
func TestSettingsTable(t *testing.T) {
	names := map[string]bool{configSetting: true}
	fields := map[any]string{}
	var c Config
	for _, st := range settings {
		if names[st.name] {
			t.Errorf("duplicate setting %q", st.name)
		}
		names[st.name] = true
		if err := st.set(&Config{}, st.def); err != nil {
			t.Errorf("setting %s: bad default: %v", st.name, err)
		}
		p := st.field(&c)
		if other, ok := fields[p]; ok {
			t.Errorf("settings %s and %s share a field", st.name, other)
		}
		fields[p] = st.name
	}
}

func TestEnvName(t *testing.T) {
	if got := EnvName("create-on-push"); got != "BERTH_CREATE_ON_PUSH" {
		t.Errorf("EnvName = %q", got)
	}
}

func TestNewLogger(t *testing.T) {
	var b strings.Builder
	c := Default()
	c.LogLevel, c.LogFormat = "warn", "text"
	log := c.NewLogger(&b)
	log.Info("hidden")
	log.Warn("shown")
	if out := b.String(); strings.Contains(out, "hidden") || !strings.Contains(out, "level=WARN msg=shown") {
		t.Errorf("text logger at warn wrote %q", out)
	}
	b.Reset()
	c.LogLevel, c.LogFormat = "debug", "json"
	c.NewLogger(&b).Debug("x")
	if !strings.Contains(b.String(), `"level":"DEBUG","msg":"x"`) {
		t.Errorf("json logger at debug wrote %q", b.String())
	}
}

// FuzzApplyYAML checks that arbitrary file content never panics and that
// accepted content yields a configuration Validate can judge.
func FuzzApplyYAML(f *testing.F) {
	f.Add("listen: :5000\n")
	f.Add("upload-ttl: 1h\ncreate-on-push: true\n")
	f.Add("- a\n- b\n")
	f.Add("a: &x [*x]\n")
	f.Fuzz(func(t *testing.T, s string) {
		c := Default()
		if err := c.applyYAML([]byte(s)); err != nil {
			return
		}
		_ = c.finish()
	})
}

func TestIdentitySettings(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantKey    string
		wantID     string
		wantRegion string
		wantRootID string
	}{
		{name: "defaults", args: []string{"--data-dir", "/d"}, wantKey: "/d/master.key", wantRegion: "us-east-1"},
		{name: "flags", args: []string{"--master-key-file", "/k/key", "--account-id", "123456789012", "--region", "eu-west-1"},
			wantKey: "/k/key", wantID: "123456789012", wantRegion: "eu-west-1"},
		{name: "env", env: map[string]string{"BERTH_ACCOUNT_ID": "000000000001", "BERTH_REGION": "ap-south-1",
			"BERTH_ROOT_ACCESS_KEY_ID": "AKIAEXAMPLE000000000", "BERTH_ROOT_SECRET_ACCESS_KEY": "secret/secret/secret"},
			args: []string{"--data-dir", "/e"}, wantKey: "/e/master.key", wantID: "000000000001", wantRegion: "ap-south-1",
			wantRootID: "AKIAEXAMPLE000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.args, envMap(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if c.MasterKeyPath() != tt.wantKey || c.AccountID != tt.wantID || c.Region != tt.wantRegion || c.RootAccessKeyID != tt.wantRootID {
				t.Fatalf("got key %q id %q region %q root %q", c.MasterKeyPath(), c.AccountID, c.Region, c.RootAccessKeyID)
			}
			if tt.wantRootID != "" && c.RootSecretAccessKey != tt.env["BERTH_ROOT_SECRET_ACCESS_KEY"] {
				t.Fatal("root secret not loaded")
			}
		})
	}
}
