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
//
// FerretDB 1.24 runs an update as "read the matching documents, apply the
// update in Go, write them back by _id" without a transaction around it, so
// concurrent updates of one document can lose writes (a compare-and-set on a
// version field can succeed twice). With -serialize-writes, clients talk to a
// small proxy in this process that forwards every wire message to FerretDB
// unchanged but runs write commands (everything except a list of read-only
// ones) one at a time, which restores MongoDB's single-document atomicity at
// the cost of write concurrency.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
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
	serializeWrites := flag.Bool("serialize-writes", false,
		"run write commands one at a time through an in-process proxy (makes single-document updates atomic)")
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

	ferretAddr := *listenAddr
	var public net.Listener
	if *serializeWrites {
		// bind the public address first so that a taken port fails fast
		if public, err = net.Listen("tcp", *listenAddr); err != nil {
			return err
		}
		defer public.Close()
		ferretAddr = "127.0.0.1:0"
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: ferretAddr},
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
	uri := f.MongoDBURI()

	var proxyDone chan struct{}
	if public != nil {
		u, err := url.Parse(uri)
		if err != nil {
			return err
		}
		p := &proxy{upstream: u.Host, l: logger}
		proxyDone = make(chan struct{})
		go func() {
			defer close(proxyDone)
			p.serve(ctx, public)
		}()
		uri = (&url.URL{Scheme: "mongodb", Host: public.Addr().String(), Path: "/"}).String()
	}

	fmt.Printf("FERRETDB_URI=%s\n", uri)

	err = <-done
	if proxyDone != nil {
		<-proxyDone
	}
	logger.Info("ferretdb stopped")

	return err
}

// Wire protocol bits the proxy needs (https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/).
const (
	opMsg = 2013

	flagChecksumPresent = 1 << 0
	flagMoreToCome      = 1 << 1

	maxWireMessage = 64 << 20 // FerretDB advertises maxMessageSizeBytes 48000000
)

// readOnlyCommands run without the write lock. Anything else, including
// unknown commands and non-OP_MSG messages other than the legacy hello
// handshake, takes it.
var readOnlyCommands = map[string]bool{
	"aggregate": true, // FerretDB 1.24 has no $out / $merge
	"buildInfo": true, "buildinfo": true,
	"collStats": true, "connectionStatus": true, "count": true, "currentOp": true,
	"dataSize": true, "dbStats": true, "dbstats": true, "distinct": true, "endSessions": true,
	"explain": true, "find": true, "getCmdLineOpts": true, "getFreeMonitoringStatus": true,
	"getLog": true, "getMore": true, "getParameter": true, "hello": true, "hostInfo": true,
	"isMaster": true, "ismaster": true, "killCursors": true, "listCollections": true,
	"listCommands": true, "listDatabases": true, "listIndexes": true, "logout": true,
	"ping": true, "saslContinue": true, "saslStart": true, "serverStatus": true, "whatsmyuri": true,
}

// proxy forwards wire messages between clients and FerretDB unchanged,
// holding mu from sending a write command until its reply has been passed on.
type proxy struct {
	upstream string
	l        *slog.Logger
	mu       sync.Mutex
}

func (p *proxy) serve(ctx context.Context, l net.Listener) {
	var wg sync.WaitGroup
	defer wg.Wait()

	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()

	for {
		conn, err := l.Accept()
		if err != nil {
			if ctx.Err() == nil {
				p.l.Error("proxy: accept failed", slog.Any("error", err))
			}
			return
		}

		wg.Add(1)
		go func() {
			defer wg.Done()
			p.handle(ctx, conn)
		}()
	}
}

func (p *proxy) handle(ctx context.Context, client net.Conn) {
	defer client.Close()

	var d net.Dialer
	up, err := d.DialContext(ctx, "tcp", p.upstream)
	if err != nil {
		p.l.Error("proxy: cannot reach FerretDB", slog.Any("error", err))
		return
	}
	defer up.Close()

	stop := context.AfterFunc(ctx, func() {
		client.Close()
		up.Close()
	})
	defer stop()

	cr := bufio.NewReader(client)
	ur := bufio.NewReader(up)

	for {
		req, err := readMessage(cr)
		if err != nil {
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				p.l.Debug("proxy: client read failed", slog.Any("error", err))
			}
			return
		}

		if err = p.roundTrip(req, up, ur, client); err != nil {
			if ctx.Err() == nil {
				p.l.Debug("proxy: round trip failed", slog.Any("error", err))
			}
			return
		}
	}
}

func (p *proxy) roundTrip(req []byte, up io.Writer, ur io.Reader, client io.Writer) error {
	if needsLock(req) {
		p.mu.Lock()
		defer p.mu.Unlock()
	}

	// The client expects no reply to a message with moreToCome (w=0 writes),
	// but FerretDB 1.24 sends one anyway, which would desynchronize the
	// stream. Send it as an ordinary request and drop the reply instead.
	unacknowledged := false
	if f := msgFlags(req); f&flagMoreToCome != 0 && f&flagChecksumPresent == 0 {
		unacknowledged = true
		binary.LittleEndian.PutUint32(req[16:20], f&^flagMoreToCome)
	}

	if _, err := up.Write(req); err != nil {
		return err
	}

	// An exhaust cursor gets replies with moreToCome set until the last one.
	for {
		resp, err := readMessage(ur)
		if err != nil {
			return err
		}

		if unacknowledged {
			return nil
		}

		if _, err = client.Write(resp); err != nil {
			return err
		}

		if msgFlags(resp)&flagMoreToCome == 0 {
			return nil
		}
	}
}

// readMessage reads one length-prefixed wire message, header included.
func readMessage(r io.Reader) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}

	n := int(int32(binary.LittleEndian.Uint32(size[:])))
	if n < 16 || n > maxWireMessage {
		return nil, fmt.Errorf("invalid message length %d", n)
	}

	msg := make([]byte, n)
	copy(msg, size[:])

	if _, err := io.ReadFull(r, msg[4:]); err != nil {
		return nil, err
	}

	return msg, nil
}

func opCode(msg []byte) int32 {
	return int32(binary.LittleEndian.Uint32(msg[12:16]))
}

func msgFlags(msg []byte) uint32 {
	if opCode(msg) != opMsg || len(msg) < 20 {
		return 0
	}

	return binary.LittleEndian.Uint32(msg[16:20])
}

// needsLock reports whether req may write.
func needsLock(req []byte) bool {
	const opQuery = 2004 // only the legacy hello handshake uses it nowadays

	switch opCode(req) {
	case opQuery:
		return false
	case opMsg:
		return !readOnlyCommands[commandName(req)]
	default:
		return true
	}
}

// commandName returns the first key of an OP_MSG's body (its kind 0 section), or "".
func commandName(msg []byte) string {
	end := len(msg)
	if msgFlags(msg)&flagChecksumPresent != 0 {
		end -= 4
	}

	for off := 20; off < end; {
		kind := msg[off]
		off++

		switch kind {
		case 0: // body: int32 length, then the first element: type byte, key cstring
			start := off + 5
			if start > end {
				return ""
			}

			i := start
			for i < end && msg[i] != 0 {
				i++
			}

			if i == end {
				return ""
			}

			return string(msg[start:i])

		case 1: // document sequence: int32 size (including itself), identifier, documents
			if off+4 > end {
				return ""
			}

			size := int(int32(binary.LittleEndian.Uint32(msg[off : off+4])))
			if size < 4 {
				return ""
			}

			off += size

		default:
			return ""
		}
	}

	return ""
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %v\n", err)
		os.Exit(1)
	}
}
