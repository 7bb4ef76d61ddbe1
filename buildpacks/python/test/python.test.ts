import { chmodSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { appDir, runBin } from "../../nodejs/test/helpers.js";

describe("python bin/detect", () => {
  it.each(["requirements.txt", "pyproject.toml", "Pipfile", "setup.py", "runtime.txt"])("detects %s", (file) => {
    const r = runBin("python", "detect", [appDir({ [file]: "" })]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("Python");
  });
  it("rejects apps without Python markers (a lone app.py is not enough)", () => {
    expect(runBin("python", "detect", [appDir({ "app.py": "" })]).code).toBe(1);
  });
});

describe("python bin/release", () => {
  it("declares no defaults for plain apps (the Procfile decides)", () => {
    const r = runBin("python", "release", [appDir({ "requirements.txt": "" })]);
    expect(r.stdout.trim()).toBe("--- {}");
  });
  it("runs gunicorn for a Django project when gunicorn is installed", () => {
    const dir = appDir({
      "manage.py": "",
      "mysite/wsgi.py": "application = get_wsgi_application()\n",
      "bin/placeholder": "",
      ".heroku/python/bin/gunicorn": "#!/bin/sh\n",
    });
    chmodSync(`${dir}/.heroku/python/bin/gunicorn`, 0o755);
    const r = runBin("python", "release", [dir]);
    expect(r.stdout).toContain("web: gunicorn mysite.wsgi --bind 0.0.0.0:$PORT");
  });
});

describe("python lib/python-version (the warning when an app asks for another Python)", () => {
  const warning = (files: Record<string, string>, stack = "3.11.2") =>
    runBin("python", "../lib/python-version", [appDir(files), stack]);

  it("says nothing when nothing is asked for, or the stack's version is", () => {
    for (const files of <Record<string, string>[]>[
      {},
      { "runtime.txt": "python-3.11\n" },
      { "runtime.txt": "python-3.11.2" },
      { ".python-version": "3.11\n" },
      { ".python-version": "# pyenv\n\n3\n" },
    ]) {
      const r = warning(files);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("");
    }
  });

  it("warns in one line naming what was asked for, what is used and how to choose; the build goes on", () => {
    const r = warning({ "runtime.txt": "python-3.12.1\n" });
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([
      "runtime.txt asks for Python 3.12.1, but only the stack's Python 3.11.2 is available here: the build goes on with Python 3.11.2. Write python-3.11 there (or remove runtime.txt) to silence this warning.",
    ]);
    expect(warning({ ".python-version": "3.11.4" }).stdout).toContain(
      ".python-version asks for Python 3.11.4, but only the stack's Python 3.11.2 is available here",
    );
    expect(warning({ ".python-version": "pypy3.10" }).stdout).toContain(
      '.python-version asks for "pypy3.10", which is not a Python version this platform can provide',
    );
  });

  it("reads .python-version before runtime.txt, as Heroku does", () => {
    const r = warning({ ".python-version": "3.13", "runtime.txt": "python-3.11.2" });
    expect(r.stdout).toContain(".python-version asks for Python 3.13");
  });
});
