package e2e

import (
	"bufio"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

//go:embed e2e_flask.py
var flaskApp []byte

// DefaultWorkers is the number of gunicorn worker processes: gunicorn's own
// advice, 2 x cores + 1, for the 2 cores the benchmark was written on.
const DefaultWorkers = 5

// DefaultThreads is the number of threads of each gunicorn worker. With
// more than one, gunicorn runs its gthread worker, which keeps connections
// alive as the load generator and the Go servers do; its sync worker closes
// each one after a response (it is meant to sit behind a buffering proxy).
// Measured on 2 cores, 5 workers of 2 threads served as many req/s as 5 sync
// workers, within the noise, with a p99 about half as long.
const DefaultThreads = 2

func workerClass(threads int) string {
	if threads > 1 {
		return "gthread"
	}
	return "sync"
}

// install lists the Debian packages the Flask contenders need.
const install = "apt-get install -y python3-flask python3-flask-caching python3-redis gunicorn"

// flask is Flask-Caching's cacheType (SimpleCache or RedisCache) under
// gunicorn.
func flask(name, title, cacheType string) Contender {
	modules := "flask, flask_caching"
	if cacheType == "RedisCache" {
		modules += ", redis"
	}
	return Contender{
		Name:      name,
		Title:     title,
		Redis:     cacheType == "RedisCache",
		PerWorker: cacheType == "SimpleCache",
		Available: func(Env) error {
			return flaskAvailable(modules)
		},
		Command: func(env Env) (*exec.Cmd, error) {
			if env.Dir == "" {
				return nil, errors.New("e2e: Env.Dir is empty")
			}
			if err := os.WriteFile(filepath.Join(env.Dir, "e2e_flask.py"), flaskApp, 0o644); err != nil {
				return nil, err
			}
			if err := os.WriteFile(filepath.Join(env.Dir, "page.json"), Page, 0o644); err != nil {
				return nil, err
			}
			cmd := exec.Command("gunicorn",
				"--chdir", env.Dir,
				"--workers", strconv.Itoa(env.workers()),
				"--worker-class", workerClass(env.threads()),
				"--threads", strconv.Itoa(env.threads()),
				"--bind", "127.0.0.1:0",
				"--log-level", "info",
				"e2e_flask:app")
			cmd.Env = append(os.Environ(),
				"E2E_CACHE_TYPE="+cacheType,
				"E2E_REDIS_URL="+env.redisURL(),
				"E2E_PREFIX="+env.Prefix,
				"PYTHONDONTWRITEBYTECODE=1")
			return cmd, nil
		},
	}
}

// flaskAvailable checks that gunicorn is installed and that its Python
// imports modules.
func flaskAvailable(modules string) error {
	gunicorn, err := exec.LookPath("gunicorn")
	if err != nil {
		return fmt.Errorf("gunicorn is not installed (%s)", install)
	}
	python, err := interpreter(gunicorn)
	if err != nil {
		return err
	}
	if out, err := exec.Command(python, "-c", "import "+modules).CombinedOutput(); err != nil {
		return fmt.Errorf("%s cannot import %s (%s): %s", python, modules, install, strings.TrimSpace(string(out)))
	}
	return nil
}

// interpreter returns the Python of a script's "#!" line.
func interpreter(script string) (string, error) {
	f, err := os.Open(script)
	if err != nil {
		return "", err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "#!") {
		return "", fmt.Errorf("%s has no #! line", script)
	}
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	if len(fields) == 0 {
		return "", fmt.Errorf("%s has an empty #! line", script)
	}
	if filepath.Base(fields[0]) == "env" && len(fields) > 1 {
		return exec.LookPath(fields[1])
	}
	return fields[0], nil
}

// FlaskVersions returns the versions of what the Flask contenders run:
// Flask, Flask-Caching, redis-py, gunicorn and Python.
func FlaskVersions() (string, error) {
	gunicorn, err := exec.LookPath("gunicorn")
	if err != nil {
		return "", err
	}
	python, err := interpreter(gunicorn)
	if err != nil {
		return "", err
	}
	const script = `import sys, importlib.metadata as m
v = lambda d: m.version(d) if d else sys.version.split()[0]
print(", ".join("%s %s" % (n, v(d)) for n, d in [("Flask", "flask"), ("Flask-Caching", "flask-caching"), ("redis-py", "redis"), ("gunicorn", "gunicorn"), ("Python", None)]))`
	out, err := exec.Command(python, "-c", script).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("e2e: %s: %v: %s", python, err, out)
	}
	return strings.TrimSpace(string(out)), nil
}
