package httpadapter

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// writer is the ResponseWriter that Middleware hands to the handler: it
// commits the session (Implicit mode) and sets its cookie before the
// response starts, and drops the handler's response if that commit failed
// and the ErrorHandler answered instead. It is the request's
// state under another type, so wrapping costs no allocation. Unwrap
// keeps http.ResponseController working (Flush, Hijack, deadlines,
// full duplex).
type writer requestState

// hijackWriter is writer for a ResponseWriter that can be hijacked
// (HTTP/1.x), so that a type assertion to http.Hijacker answers as the
// wrapped writer would.
type hijackWriter requestState

var (
	_ http.Flusher    = (*writer)(nil)
	_ io.ReaderFrom   = (*writer)(nil)
	_ io.StringWriter = (*writer)(nil)
	_ http.Hijacker   = (*hijackWriter)(nil)
	_ http.Flusher    = (*hijackWriter)(nil)
)

// Header returns the wrapped writer's header map.
func (w *writer) Header() http.Header { return w.rw.Header() }

// WriteHeader commits and sets the session cookie, then writes the
// header. An informational (1xx) header other than 101 goes out without
// either.
func (w *writer) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		if !(*requestState)(w).prepare() {
			return
		}
	}
	w.rw.WriteHeader(code)
}

// Write commits and sets the session cookie if the header is not written
// yet, then writes b.
func (w *writer) Write(b []byte) (int, error) {
	s := (*requestState)(w)
	if !s.prepare() {
		return 0, s.errNotSaved()
	}
	return w.rw.Write(b)
}

// WriteString lets io.WriteString use the wrapped writer's WriteString.
func (w *writer) WriteString(str string) (int, error) {
	s := (*requestState)(w)
	if !s.prepare() {
		return 0, s.errNotSaved()
	}
	if sw, ok := w.rw.(io.StringWriter); ok {
		return sw.WriteString(str)
	}
	return w.rw.Write([]byte(str))
}

// ReadFrom lets io.Copy use the wrapped writer's ReadFrom (sendfile).
func (w *writer) ReadFrom(src io.Reader) (int64, error) {
	s := (*requestState)(w)
	if !s.prepare() {
		return 0, s.errNotSaved()
	}
	if rf, ok := w.rw.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{w.rw}, src)
}

// Flush commits and sets the session cookie if the header is not written
// yet, then flushes the wrapped writer if it can.
func (w *writer) Flush() { _ = w.FlushError() }

// FlushError is Flush reporting the wrapped writer's error; it is what
// http.ResponseController.Flush calls.
func (w *writer) FlushError() error {
	s := (*requestState)(w)
	if !s.prepare() {
		return s.errNotSaved()
	}
	return http.NewResponseController(w.rw).Flush()
}

// Unwrap returns the wrapped ResponseWriter.
func (w *writer) Unwrap() http.ResponseWriter { return w.rw }

func (w *hijackWriter) Header() http.Header                   { return (*writer)(w).Header() }
func (w *hijackWriter) WriteHeader(code int)                  { (*writer)(w).WriteHeader(code) }
func (w *hijackWriter) Write(b []byte) (int, error)           { return (*writer)(w).Write(b) }
func (w *hijackWriter) WriteString(s string) (int, error)     { return (*writer)(w).WriteString(s) }
func (w *hijackWriter) Flush()                                { (*writer)(w).Flush() }
func (w *hijackWriter) FlushError() error                     { return (*writer)(w).FlushError() }
func (w *hijackWriter) Unwrap() http.ResponseWriter           { return w.rw }
func (w *hijackWriter) ReadFrom(src io.Reader) (int64, error) { return (*writer)(w).ReadFrom(src) }

// Hijack commits the session (Implicit mode), then hands the connection
// over to the handler. No cookie is sent on a hijacked connection; in
// Implicit mode the session's turn is still held until the handler
// returns. If the commit fails, the ErrorHandler answers and Hijack
// returns an error matching ErrNotSaved.
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	s := (*requestState)(w)
	if s.failed != nil {
		return nil, nil, s.errNotSaved()
	}
	if !s.wroteHeader {
		if err := s.commitEarly(); err != nil {
			s.replace(err)
			return nil, nil, s.errNotSaved()
		}
	}
	c, rw, err := w.rw.(http.Hijacker).Hijack()
	if err == nil {
		s.wroteHeader, s.sentID = true, s.current()
	}
	return c, rw, err
}

// writerOnly hides a writer's ReadFrom from io.Copy.
type writerOnly struct{ io.Writer }
