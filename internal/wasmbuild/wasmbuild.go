// Package wasmbuild builds Go packages as twig sandbox guests (wasip1
// reactors) and hashes the sources a guest is built from. The embedded
// engine guest's hash is recorded next to it (wasm/sandbox/guest.sum) so a
// test can tell, without depending on the Go toolchain's exact bytes,
// whether the committed module is out of date.
package wasmbuild

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// env is the environment of a guest build.
func env() []string {
	return append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
}

// Build builds the Go package pkg (an import path or ./dir, resolved from
// dir) as a wasip1 reactor module into out.
func Build(dir, pkg, out string) error {
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir, cmd.Env = dir, env()
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s for wasip1: %v\n%s", pkg, err, b)
	}
	return nil
}

// SourceHash hashes what a guest is built from: the Go and embedded files of
// every package of the main module it depends on, and the module path and
// version of every other module. The standard library (the toolchain) is
// left out, so the hash is the same under any Go release.
func SourceHash(dir, pkg string) (string, error) {
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Dir,GoFiles,EmbedFiles,Module,Standard", pkg)
	cmd.Dir, cmd.Env = dir, env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list %s: %v\n%s", pkg, err, stderr.Bytes())
	}
	type module struct {
		Path, Version string
		Main          bool
	}
	type pkgInfo struct {
		ImportPath, Dir     string
		GoFiles, EmbedFiles []string
		Module              *module
		Standard            bool
	}
	var lines []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkgInfo
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return "", fmt.Errorf("go list %s: %w", pkg, err)
		}
		switch {
		case p.Standard || p.Module == nil:
		case !p.Module.Main:
			lines = append(lines, "module "+p.Module.Path+"@"+p.Module.Version)
		default:
			for _, f := range append(p.GoFiles, p.EmbedFiles...) {
				data, err := os.ReadFile(filepath.Join(p.Dir, f))
				if err != nil {
					return "", err
				}
				sum := sha256.Sum256(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")))
				lines = append(lines, "file "+p.ImportPath+"/"+f+" "+hex.EncodeToString(sum[:]))
			}
		}
	}
	sort.Strings(lines)
	lines = dedup(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

func dedup(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// Hash is the sha256 of a module, as guest.sum records it.
func Hash(wasm []byte) string {
	sum := sha256.Sum256(wasm)
	return "sha256:" + hex.EncodeToString(sum[:])
}
