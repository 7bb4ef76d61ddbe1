// A strict reader of Prometheus' text exposition format (0.0.4), enough to prove /metrics
// parses: every line is a # HELP / # TYPE comment or `name{label="value",...} number`,
// every sample belongs to a declared family, label values use only the allowed escapes.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)(?: (-?\d+))?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

export function parsePrometheus(text: string): Sample[] {
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline");
  const families = new Map<string, string>();
  const samples: Sample[] = [];
  text
    .slice(0, -1)
    .split("\n")
    .forEach((line, i) => {
      const where = `line ${i + 1}: ${line}`;
      if (line.startsWith("# HELP ")) {
        if (!NAME.test(line.split(" ")[2] ?? "")) throw new Error(`bad HELP, ${where}`);
        return;
      }
      if (line.startsWith("# TYPE ")) {
        const [, , name, type] = line.split(" ");
        if (!NAME.test(name) || !TYPES.has(type)) throw new Error(`bad TYPE, ${where}`);
        if (families.has(name)) throw new Error(`TYPE given twice, ${where}`);
        families.set(name, type);
        return;
      }
      if (line.startsWith("#") || line === "") return;
      const m = SAMPLE.exec(line);
      if (!m) throw new Error(`not a sample, ${where}`);
      const [, name, , rawLabels, rawValue] = m;
      const family = [...families.keys()].find(
        (f) =>
          name === f ||
          (families.get(f) === "histogram" &&
            /^_(bucket|sum|count)$/.test(name.slice(f.length)) &&
            name.startsWith(f)),
      );
      if (!family) throw new Error(`sample of an undeclared family, ${where}`);
      const labels: Record<string, string> = {};
      if (rawLabels) {
        LABEL.lastIndex = 0;
        while (LABEL.lastIndex < rawLabels.length) {
          const l = LABEL.exec(rawLabels);
          if (!l) throw new Error(`bad labels, ${where}`);
          labels[l[1]] = l[2].replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
        }
      }
      const value = rawValue === "+Inf" ? Infinity : rawValue === "-Inf" ? -Infinity : Number(rawValue);
      if (Number.isNaN(value) && rawValue !== "NaN") throw new Error(`bad value, ${where}`);
      samples.push({ name, labels, value });
    });
  return samples;
}
