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
