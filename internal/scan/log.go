package scan

import (
	"context"
	"fmt"
	"log/slog"

	scalibrlog "github.com/google/osv-scalibr/log"
)

// slogAdapter routes osv-scalibr's log lines to log/slog: its progress
// lines at debug level, its warnings and errors at theirs.
type slogAdapter struct{}

func (slogAdapter) log(level slog.Level, msg string) {
	slog.Default().Log(context.Background(), level, "scan: "+msg, "component", "osv-scalibr")
}
func (a slogAdapter) Errorf(format string, args ...any) {
	a.log(slog.LevelError, fmt.Sprintf(format, args...))
}
func (a slogAdapter) Error(args ...any) { a.log(slog.LevelError, fmt.Sprint(args...)) }
func (a slogAdapter) Warnf(format string, args ...any) {
	a.log(slog.LevelWarn, fmt.Sprintf(format, args...))
}
func (a slogAdapter) Warn(args ...any) { a.log(slog.LevelWarn, fmt.Sprint(args...)) }
func (a slogAdapter) Infof(format string, args ...any) {
	a.log(slog.LevelDebug, fmt.Sprintf(format, args...))
}
func (a slogAdapter) Info(args ...any) { a.log(slog.LevelDebug, fmt.Sprint(args...)) }
func (a slogAdapter) Debugf(format string, args ...any) {
	a.log(slog.LevelDebug, fmt.Sprintf(format, args...))
}
func (a slogAdapter) Debug(args ...any) { a.log(slog.LevelDebug, fmt.Sprint(args...)) }

func init() { scalibrlog.SetLogger(slogAdapter{}) }
