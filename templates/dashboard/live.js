// The app page, live: new log lines from the stream (server-sent events) and the processes'
// CPU and memory every 2 seconds. Without this script the page still shows both as of its load.
(() => {
  const log = document.getElementById("live-log");
  // Start at the newest line (the box scrolls), so new lines are followed from the start.
  if (log) log.scrollTop = log.scrollHeight;
  if (log && window.EventSource) {
    const max = 300;
    const source = new EventSource(log.dataset.stream);
    source.onmessage = (ev) => {
      const l = JSON.parse(ev.data);
      const line = document.createElement("div");
      line.textContent = `${l.ts} ${l.source}[${l.process}]: ${l.message}`;
      line.className = `src-${l.source}`;
      const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      log.appendChild(line);
      while (log.childElementCount > max) log.firstElementChild.remove();
      if (atBottom) log.scrollTop = log.scrollHeight;
    };
  }
  const table = document.getElementById("processes");
  if (table) {
    const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;
    setInterval(async () => {
      try {
        const res = await fetch(table.dataset.ps, { credentials: "same-origin" });
        if (!res.ok) return;
        for (const p of await res.json()) {
          const row = table.querySelector(`tr[data-container="${CSS.escape(p.container)}"]`);
          if (!row || typeof p.memoryBytes !== "number") continue;
          row.querySelector(".cpu").textContent = `${p.cpuPercent.toFixed(1)}%`;
          row.querySelector(".mem").textContent =
            `${mib(p.memoryBytes)}${p.memoryLimitBytes ? ` / ${Math.round(p.memoryLimitBytes / 1048576)} MiB` : ""}`;
        }
      } catch {
        // the next tick tries again
      }
    }, 2000);
  }
})();
