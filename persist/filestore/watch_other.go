//go:build !linux

package filestore

import "github.com/fsnotify/fsnotify"

// fsnotifyWatch is a watch on one directory through fsnotify.
type fsnotifyWatch struct{ *fsnotify.Watcher }

// newDirWatch starts watching dir.
func newDirWatch(dir string) (dirWatch, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if err := w.Add(dir); err != nil {
		_ = w.Close()
		return nil, err
	}
	return fsnotifyWatch{w}, nil
}

func (w fsnotifyWatch) events() <-chan fsnotify.Event { return w.Events }
func (w fsnotifyWatch) errors() <-chan error          { return w.Errors }
