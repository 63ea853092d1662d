// Command ferretdb runs an embedded FerretDB (MongoDB wire protocol) server
// with the SQLite backend. It is used by the test suite and for local runs
// and benchmarks where no mongod is available.
//
// We embed github.com/FerretDB/FerretDB/ferretdb from our own main module
// instead of `go install`ing FerretDB's cmd/ferretdb: the latter panics at
// start-up because its build/version/version.txt is generated and not part
// of the published module. For embedded use (main module path differs from
// FerretDB's) the version package skips that check.
//
// Usage:
//
//	ferretdb -listen-addr 127.0.0.1:27017 -data-dir /path/to/dir [-log-level error]
//
// Once the listener is ready, one line "FERRETDB_URI=mongodb://HOST:PORT/" is
// printed to stdout (useful with port 0). SIGINT/SIGTERM shut it down cleanly;
// with -exit-on-stdin-eof, so does closing its stdin (used by the test harness
// so that a killed test process does not leave the server behind).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(strings.ToUpper(s)))
	return l, err
}

// sqliteURL turns a directory into the "file:/abs/dir/" URI FerretDB expects
// (scheme file, no host, path ending in "/", directory must exist).
func sqliteURL(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", err
	}
	u := url.URL{Scheme: "file", Path: strings.TrimSuffix(abs, "/") + "/", OmitHost: true}
	return u.String(), nil
}

func run() error {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on (port 0 picks a free one)")
	dataDir := flag.String("data-dir", "", "directory for the SQLite database files (created if missing)")
	logLevel := flag.String("log-level", "error", "log level: debug, info, warn or error")
	exitOnStdinEOF := flag.Bool("exit-on-stdin-eof", false,
		"shut down when stdin is closed (lets a parent that dies without cleanup take the server with it)")
	flag.Parse()

	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", flag.Args())
	}
	if *dataDir == "" {
		return errors.New("-data-dir is required")
	}

	level, err := parseLevel(*logLevel)
	if err != nil {
		return fmt.Errorf("invalid -log-level %q: %w", *logLevel, err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	dbURL, err := sqliteURL(*dataDir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listenAddr},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: dbURL,
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if *exitOnStdinEOF {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()

		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			logger.Info("stdin closed, shutting down")
			cancel()
		}()
	}

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	// MongoDBURI blocks until the TCP listener is ready.
	fmt.Printf("FERRETDB_URI=%s\n", f.MongoDBURI())

	err = <-done
	logger.Info("ferretdb stopped")

	return err
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %v\n", err)
		os.Exit(1)
	}
}
