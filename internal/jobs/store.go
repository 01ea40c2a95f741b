package jobs

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/onair-studio/onair/internal/broadcast"
)

// FileName is the database's name in the config dir.
const FileName = "jobs.db"

const schema = `
CREATE TABLE IF NOT EXISTS jobs (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	kind     TEXT NOT NULL,
	params   TEXT NOT NULL,
	state    TEXT NOT NULL,
	progress INTEGER NOT NULL DEFAULT 0,
	eta_ms   INTEGER NOT NULL DEFAULT 0,
	attempts INTEGER NOT NULL DEFAULT 0,
	error    TEXT NOT NULL DEFAULT '',
	output   TEXT NOT NULL DEFAULT '',
	created  INTEGER NOT NULL,
	updated  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, id);`

// Store is the queue. Every change is one transaction, and each changed job
// is announced to watchers.
type Store struct {
	db *sql.DB
	// mu orders changes: SQLite takes one writer at a time anyway, and a
	// claim must read and update as one.
	mu      sync.Mutex
	changes *broadcast.Hub[Job]
}

// Open opens (creating if needed) the queue at path.
func Open(path string) (*Store, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, fmt.Errorf("job database %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("job database %s: %w", path, err)
	}
	return &Store{db: db, changes: broadcast.New[Job](64)}, nil
}

func (s *Store) Close() error { return s.db.Close() }

// Watch returns a channel of every job that changes from now on, and a
// function that stops it. A reader more than 64 changes behind loses the
// oldest of them.
func (s *Store) Watch() (<-chan Job, func()) { return s.changes.Watch() }

const columns = `id, kind, params, state, progress, eta_ms, attempts, error, output, created, updated`

func scan(row interface{ Scan(...any) error }) (Job, error) {
	var j Job
	var params string
	var eta, created, updated int64
	err := row.Scan(&j.ID, &j.Kind, &params, &j.State, &j.Progress, &eta, &j.Attempts, &j.Error, &j.Output, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, ErrNotFound
	}
	if err != nil {
		return Job{}, err
	}
	if err := json.Unmarshal([]byte(params), &j.Params); err != nil {
		return Job{}, fmt.Errorf("job %d: stored parameters: %w", j.ID, err)
	}
	j.ETA = time.Duration(eta) * time.Millisecond
	j.Created, j.Updated = time.UnixMilli(created), time.UnixMilli(updated)
	return j, nil
}

// Submit queues a job whose parameters were checked, its output to go to
// output.
func (s *Store) Submit(kind Kind, p Params, output string) (Job, error) {
	params, err := json.Marshal(p)
	if err != nil {
		return Job{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().UnixMilli()
	res, err := s.db.Exec(`INSERT INTO jobs (kind, params, state, output, created, updated) VALUES (?, ?, ?, ?, ?, ?)`,
		kind, string(params), Queued, output, now, now)
	if err != nil {
		return Job{}, fmt.Errorf("queueing a %s job: %w", kind, err)
	}
	id, _ := res.LastInsertId()
	return s.announce(id)
}

// Get returns job id.
func (s *Store) Get(id int64) (Job, error) {
	j, err := scan(s.db.QueryRow(`SELECT `+columns+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, ErrNotFound) {
		return Job{}, fmt.Errorf("job %d: %w", id, ErrNotFound)
	}
	return j, err
}

// List returns the last limit jobs (0: all), newest first.
func (s *Store) List(limit int) ([]Job, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.Query(`SELECT `+columns+` FROM jobs ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		j, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// Claim starts the oldest queued job of the given kinds, counting an
// attempt; ok is false when none waits.
func (s *Store) Claim(kinds ...Kind) (j Job, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range kinds {
		var id int64
		err := s.db.QueryRow(`SELECT id FROM jobs WHERE state = ? AND kind = ? ORDER BY id LIMIT 1`, Queued, k).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return Job{}, false, err
		}
		if err := s.change(id, `state = ?, attempts = attempts + 1, progress = 0, eta_ms = 0, error = ''`, `state = 'queued'`, Running); err != nil {
			return Job{}, false, err
		}
		j, err := s.Get(id)
		return j, err == nil, err
	}
	return Job{}, false, nil
}

// Waiting reports whether a job of one of kinds is queued.
func (s *Store) Waiting(kinds ...Kind) (bool, error) {
	for _, k := range kinds {
		var n int
		if err := s.db.QueryRow(`SELECT COUNT(*) FROM jobs WHERE state = ? AND kind = ?`, Queued, k).Scan(&n); err != nil {
			return false, err
		}
		if n > 0 {
			return true, nil
		}
	}
	return false, nil
}

// Progress records a running job's progress (0..100) and time to go.
func (s *Store) Progress(id int64, percent int, eta time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.change(id, `progress = MAX(progress, ?), eta_ms = ?`, `state = 'running'`, min(max(percent, 0), 100), eta.Milliseconds())
}

// Finish ends a running job: done when err is nil, else failed with err.
// A job cancelled meanwhile stays cancelled.
func (s *Store) Finish(id int64, err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		return s.change(id, `state = 'done', progress = 100, eta_ms = 0`, `state = 'running'`)
	}
	return s.change(id, `state = 'failed', eta_ms = 0, error = ?`, `state = 'running'`, err.Error())
}

// Release queues a running job again without counting its attempt: its
// run was stopped on purpose (the master shutting down), not by a crash.
func (s *Store) Release(id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.change(id, `state = 'queued', attempts = MAX(attempts - 1, 0), progress = 0, eta_ms = 0`, `state = 'running'`)
}

// Interrupted handles a running job whose process died (reason says how):
// queued again while attempts remain, else failed with the reason.
func (s *Store) Interrupted(id int64, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.interrupted(id, reason)
}

func (s *Store) interrupted(id int64, reason string) error {
	if err := s.change(id, `state = 'queued', error = ?, eta_ms = 0`, fmt.Sprintf(`state = 'running' AND attempts < %d`, MaxAttempts), reason); err != nil {
		return err
	}
	msg := fmt.Sprintf("%s (after %d attempts)", reason, MaxAttempts)
	return s.change(id, `state = 'failed', error = ?, eta_ms = 0`, `state = 'running'`, msg)
}

// Recover requeues (or fails, past MaxAttempts) every job left running of
// the given kinds, as after a crash of whatever ran them. It returns how
// many it found.
func (s *Store) Recover(reason string, kinds ...Kind) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, k := range kinds {
		ids, err := s.ids(`SELECT id FROM jobs WHERE state = 'running' AND kind = ?`, k)
		if err != nil {
			return n, err
		}
		for _, id := range ids {
			if err := s.interrupted(id, reason); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// Cancel cancels a job that has not finished; it returns the job as it
// was before (a running one must be stopped by whoever runs it).
func (s *Store) Cancel(id int64) (before Job, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	before, err = s.Get(id)
	if err != nil {
		return Job{}, err
	}
	if before.State.Finished() {
		return before, fmt.Errorf("job %d is already %s", id, before.State)
	}
	return before, s.change(id, `state = 'cancelled', eta_ms = 0`, `state IN ('queued', 'running')`)
}

// change applies set to job id when where holds, and announces it.
func (s *Store) change(id int64, set, where string, args ...any) error {
	now := time.Now().UnixMilli()
	res, err := s.db.Exec(`UPDATE jobs SET `+set+`, updated = ? WHERE id = ? AND `+where, append(args, now, id)...)
	if err != nil {
		return fmt.Errorf("job %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		_, err = s.announce(id)
	}
	return err
}

func (s *Store) announce(id int64) (Job, error) {
	j, err := s.Get(id)
	if err == nil {
		s.changes.Publish(j)
	}
	return j, err
}

// Abandon fails every job of kind left running or queued, with reason: work
// that cannot be tried again once its process is gone.
func (s *Store) Abandon(kind Kind, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids, err := s.ids(`SELECT id FROM jobs WHERE state IN ('running', 'queued') AND kind = ?`, kind)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.change(id, `state = 'failed', eta_ms = 0, error = ?`, `state IN ('running', 'queued')`, reason); err != nil {
			return err
		}
	}
	return nil
}

// ids returns the ids query selects, read in full before any change.
func (s *Store) ids(query string, args ...any) ([]int64, error) {
	rows, err := s.db.Query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
