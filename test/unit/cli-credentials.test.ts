import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  credentialsPath,
  loadCredentials,
  netrcMachine,
  netrcPath,
  normalizeApiUrl,
  removeCredentials,
  removeNetrcEntry,
  saveCredentials,
  upsertNetrcEntry,
} from "../../src/cli/credentials.js";

describe("upsertNetrcEntry", () => {
  it("adds an entry to an empty file", () => {
    expect(upsertNetrcEntry("", "h", "paas", "t1")).toBe("machine h login paas password t1\n");
  });

  it("appends after other entries, adding a missing final newline", () => {
    expect(upsertNetrcEntry("machine a login x password y", "h", "paas", "t")).toBe(
      "machine a login x password y\nmachine h login paas password t\n",
    );
  });

  it("replaces the entry for the machine in place and keeps the others", () => {
    const before = [
      "# my netrc",
      "machine a login x password y",
      "machine h",
      "  login paas",
      "  password old",
      "",
      "machine b login z password w",
      "",
    ].join("\n");
    expect(upsertNetrcEntry(before, "h", "paas", "new")).toBe(
      [
        "# my netrc",
        "machine a login x password y",
        "machine h login paas password new",
        "",
        "machine b login z password w",
        "",
      ].join("\n"),
    );
  });

  it("does not confuse a machine whose name only starts the same", () => {
    const before = "machine host.example login x password y\n";
    expect(upsertNetrcEntry(before, "host", "paas", "t")).toBe(
      before + "machine host login paas password t\n",
    );
  });

  it("removes duplicate entries for the machine", () => {
    const before =
      "machine h login a password 1\nmachine k login b password 2\nmachine h login c password 3\n";
    expect(upsertNetrcEntry(before, "h", "paas", "t")).toBe(
      "machine h login paas password t\nmachine k login b password 2\n",
    );
  });

  it("puts a new machine before the default entry", () => {
    expect(upsertNetrcEntry("machine a login x\ndefault login anonymous\n", "h", "paas", "t")).toBe(
      "machine a login x\nmachine h login paas password t\ndefault login anonymous\n",
    );
  });

  it("leaves macro bodies alone, even if they mention the machine", () => {
    const before = "machine a login x\nmacdef init\necho machine h\n\nmachine h login paas password old\n";
    expect(upsertNetrcEntry(before, "h", "paas", "new")).toBe(
      "machine a login x\nmacdef init\necho machine h\n\nmachine h login paas password new\n",
    );
  });

  it("understands quoted tokens", () => {
    const before = 'machine "h" login paas password "old pass"\nmachine b login z\n';
    expect(upsertNetrcEntry(before, "h", "paas", "t")).toBe(
      "machine h login paas password t\nmachine b login z\n",
    );
  });
});

describe("removeNetrcEntry", () => {
  it("removes only that machine", () => {
    const before = "machine a login x password y\nmachine h login paas password t\nmachine b login z\n";
    expect(removeNetrcEntry(before, "h")).toBe("machine a login x password y\nmachine b login z\n");
  });

  it("returns the text unchanged when the machine is absent", () => {
    const before = "# nothing here\nmachine a login x\n";
    expect(removeNetrcEntry(before, "h")).toBe(before);
  });

  it("round-trips with upsert", () => {
    const before = "machine a login x password y\n";
    expect(removeNetrcEntry(upsertNetrcEntry(before, "h", "paas", "t"), "h")).toBe(before);
  });
});

describe("API URLs", () => {
  it("normalizes", () => {
    expect(normalizeApiUrl("http://127.0.0.1:5100/")).toBe("http://127.0.0.1:5100");
    expect(normalizeApiUrl(" https://paas.example.com/api/v1/ ")).toBe("https://paas.example.com");
    expect(normalizeApiUrl("http://h:5100/prefix")).toBe("http://h:5100/prefix");
  });

  it("rejects what is not an http URL", () => {
    expect(() => normalizeApiUrl("127.0.0.1:5100")).toThrow(/must start with http/);
    expect(() => normalizeApiUrl("localhost:5100")).toThrow(/must start with http/);
    expect(() => normalizeApiUrl("ftp://h")).toThrow(/must start with http/);
    expect(() => normalizeApiUrl("http://")).toThrow(/is not a URL/);
  });

  it("gives the netrc machine name git looks up", () => {
    expect(netrcMachine("http://127.0.0.1:5100")).toBe("127.0.0.1");
    expect(netrcMachine("https://paas.example.com")).toBe("paas.example.com");
    expect(netrcMachine("http://[::1]:5100")).toBe("::1");
  });
});

describe("credential files", () => {
  let home: string;
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "paas-cli-home-"));
  });
  afterEach(() => {
    fs.rmSync(home, { recursive: true, force: true });
  });

  const mode = (file: string) => fs.statSync(file).mode & 0o777;

  it("saves both files owner-only, keeps other netrc entries, and removes its own", () => {
    fs.writeFileSync(netrcPath(home), "machine github.com login me password gh\n", { mode: 0o644 });
    saveCredentials(home, { api: "http://127.0.0.1:5100", token: "tok1" });
    saveCredentials(home, { api: "http://127.0.0.1:5100", token: "tok2" });

    expect(JSON.parse(fs.readFileSync(credentialsPath(home), "utf8"))).toEqual({
      api: "http://127.0.0.1:5100",
      token: "tok2",
    });
    expect(fs.readFileSync(netrcPath(home), "utf8")).toBe(
      "machine github.com login me password gh\nmachine 127.0.0.1 login paas password tok2\n",
    );
    expect(mode(credentialsPath(home))).toBe(0o600);
    expect(mode(netrcPath(home))).toBe(0o600);
    expect(loadCredentials({}, home)).toEqual({ api: "http://127.0.0.1:5100", token: "tok2" });

    expect(removeCredentials(home)?.api).toBe("http://127.0.0.1:5100");
    expect(fs.existsSync(credentialsPath(home))).toBe(false);
    expect(fs.readFileSync(netrcPath(home), "utf8")).toBe("machine github.com login me password gh\n");
    expect(removeCredentials(home)).toBeNull();
  });

  it("deletes a netrc that only held our entry", () => {
    saveCredentials(home, { api: "http://h:1", token: "t" });
    removeCredentials(home);
    expect(fs.existsSync(netrcPath(home))).toBe(false);
  });

  it("lets the environment override the saved file", () => {
    saveCredentials(home, { api: "http://saved:1", token: "saved" });
    expect(loadCredentials({ PAAS_API_TOKEN: "env" }, home)).toEqual({ api: "http://saved:1", token: "env" });
    expect(loadCredentials({ PAAS_API_URL: "http://env:2/", PAAS_API_TOKEN: "e" }, home)).toEqual({
      api: "http://env:2",
      token: "e",
    });
  });

  it("tells how to log in when there is nothing", () => {
    expect(() => loadCredentials({}, home)).toThrow(
      "not logged in: run `paas login --api URL --token TOKEN` (the admin token is in $PAAS_DATA_DIR/admin-token on the server)",
    );
  });

  it("reports a damaged file in one line", () => {
    fs.mkdirSync(path.dirname(credentialsPath(home)), { recursive: true });
    fs.writeFileSync(credentialsPath(home), "{oops");
    expect(() => loadCredentials({}, home)).toThrow(/credentials.json is damaged: run `paas login/);
  });
});
