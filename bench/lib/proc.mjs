// /proc readers: CPU time and resident memory of one process, the whole machine's CPU, and what the machine is.
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import os from "node:os";

let ticksPerSecond = 100;
try {
  ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
} catch {
  // getconf missing: 100 is Linux's USER_HZ everywhere that matters.
}
const CLK_TCK = ticksPerSecond;

/** Fields of /proc/<pid>/stat after the `(comm)` field, which may itself contain spaces and parentheses. */
function statFields(text) {
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  return { comm, rest: text.slice(close + 2).split(" ") };
}

/**
 * CPU seconds a process's live threads have run so far, to the nanosecond (each thread's schedstat: time on a CPU),
 * where cpuSeconds counts 10 ms ticks; a thread that already exited is not counted. null without schedstat.
 */
export function cpuSecondsPrecise(pid) {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        // The thread ended between the listing and the read.
      }
    }
    return ns / 1e9;
  } catch {
    return null;
  }
}

/** CPU seconds (user + system, all threads) a process has used so far; null once it is gone. */
export function cpuSeconds(pid) {
  try {
    const { rest } = statFields(readFileSync(`/proc/${pid}/stat`, "utf8"));
    // proc(5): utime is field 14, stime field 15; `rest` starts at field 3.
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

/** Resident set size and its high-water mark, in KiB (proc(5) VmRSS / VmHWM); null once it is gone. */
export function memoryKiB(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
    return { rss: field("VmRSS"), hwm: field("VmHWM") };
  } catch {
    return null;
  }
}

/** Soft limit on open files of a process (to warn before opening 10 000 sockets). */
export function openFilesLimit(pid) {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === "unlimited" ? Infinity : Number(soft);
  } catch {
    return null;
  }
}

/** Direct children of `parentPid` whose command name is `comm`. */
export function childPids(parentPid, comm) {
  const found = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const { comm: name, rest } = statFields(readFileSync(`/proc/${entry}/stat`, "utf8"));
      if (Number(rest[1]) === parentPid && name === comm) found.push(Number(entry));
    } catch {
      // Exited while we looked.
    }
  }
  return found;
}

/** Busy and total CPU seconds of the whole machine (all cores), from /proc/stat. */
export function machineCpuSeconds() {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const [user, nice, system, idle, iowait, irq, softirq, steal] = values;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy: busy / CLK_TCK, total: (busy + idle + iowait) / CLK_TCK };
}

/** Samples a process's RSS every `intervalMs` until stopped; reports the largest seen. */
export function rssSampler(pid, intervalMs = 250) {
  let maxKiB = memoryKiB(pid)?.rss ?? 0;
  const timer = setInterval(() => {
    const m = memoryKiB(pid);
    if (m && m.rss > maxKiB) maxKiB = m.rss;
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      const m = memoryKiB(pid);
      if (m && m.rss > maxKiB) maxKiB = m.rss;
      return maxKiB;
    },
  };
}

function tryRun(command, args) {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 }).trim();
  } catch (error) {
    // `wrk -v` prints its version and exits 1.
    const out = `${error.stdout ?? ""}${error.stderr ?? ""}`.trim();
    return out || null;
  }
}

/** What the numbers were measured on. */
export function machineInfo() {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    nproc: os.availableParallelism?.() ?? cpus.length,
    cpu_model: cpus[0]?.model ?? "unknown",
    memory_mib: Math.round(os.totalmem() / 1048576),
    kernel: `${os.type()} ${os.release()}`,
    loadavg_at_start: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export function commandVersion(command, args) {
  const out = tryRun(command, args);
  return out ? out.split("\n")[0] : null;
}

export function which(command) {
  const out = tryRun("sh", ["-c", `command -v ${command}`]);
  return out && out.startsWith("/") ? out : null;
}

/**
 * Bytes workerd's allocator holds for live objects (tcmalloc's generic.current_allocated_bytes), read by
 * attaching gdb for a moment (workerd is paused ~0.2-1 s; only called between the timed phases). RSS
 * cannot show what a waiting session costs: tcmalloc keeps the pages of freed memory (an evicted object's
 * actor and SQLite connection) mapped for reuse, so RSS stays at the high-water mark. V8's own heap is
 * not in this figure (it is mmap'd by V8, not malloc'd). Off with BENCH_QR_HEAP=0; null without gdb or
 * ptrace permission (Yama ptrace_scope > 0 needs root or CAP_SYS_PTRACE for a non-descendant).
 */
let heapProbe = process.env.BENCH_QR_HEAP === "0" ? null : which("gdb");
export function liveHeapMiB(pid) {
  if (!heapProbe) return null;
  const name = "generic.current_allocated_bytes";
  try {
    const out = execFileSync(
      heapProbe,
      [
        "-p",
        String(pid),
        "-batch",
        "-nx",
        "-ex",
        "set $p = (unsigned long *) malloc(8)",
        "-ex",
        `call (int) MallocExtension_Internal_GetNumericProperty("${name}", ${name.length}, $p)`,
        "-ex",
        "output *$p",
        "-ex",
        "echo \\nLIVE\\n",
        "-ex",
        "call (void) free($p)",
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 },
    );
    const bytes = /^(\d+)\nLIVE$/m.exec(out)?.[1];
    if (bytes === undefined) throw new Error("no tcmalloc reading");
    return Math.round((Number(bytes) / 1048576) * 100) / 100;
  } catch {
    heapProbe = null; // Not possible here (no symbols, no permission): stop trying.
    return null;
  }
}
