import * as path from "node:path";
import type { SeededRandom } from "./prng";
import { pad2, scaled, writeLines, type DatasetGenerator } from "./types";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const HOST = "ip-10-77-20-248";
/** Names brute-force scripts try, most common first (the real auth.log's top ones). */
const GUESSED_USERS = [
  "admin",
  "",
  "ubnt",
  "pi",
  "test",
  "oracle",
  "user",
  "support",
  "guest",
  "postgres",
  "git",
  "ftpuser",
];
const SUDO_COMMANDS = [
  "/usr/bin/apt-get update",
  "/usr/bin/apt-get install -y nginx",
  "/bin/systemctl restart nginx",
  "/usr/bin/tail -n 100 /var/log/nginx/error.log",
  "/bin/journalctl -u sshd",
];

/** RFC 3164 timestamp: the day is space-padded to two characters ("Mar  3"). */
function syslogTime(ms: number): string {
  const d = new Date(ms);
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, " ")} ${pad2(d.getUTCHours())}:${pad2(
    d.getUTCMinutes(),
  )}:${pad2(d.getUTCSeconds())}`;
}

function ip(random: SeededRandom): string {
  return `${random.int(1, 223)}.${random.int(0, 255)}.${random.int(0, 255)}.${random.int(1, 254)}`;
}

function keyFingerprint(random: SeededRandom): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  return Array.from({ length: 43 }, () => alphabet[random.int(0, 63)]).join("");
}

/**
 * `auth.log` of one internet-facing host over three weeks from Mar 27: hourly CRON sessions, an
 * operator logging in with a key and using sudo, and sshd brute-force bursts from scanning hosts
 * (invalid users, failed root passwords, "message repeated", max-attempts disconnects): the
 * pattern the suspicious-login analysis looks for.
 */
export const generateSyslog: DatasetGenerator = async ({ dir, scale, random }) => {
  const target = scaled(7_000, scale, 20);
  const events: Array<{ at: number; seq: number; text: string }> = [];
  let seq = 0;
  let pid = 1_300;
  let session = 1;
  const start = Date.UTC(2018, 2, 27, 13, 6, 56);
  const span = 21 * 24 * 3600 * 1000;
  const emit = (at: number, program: string, processId: number | undefined, message: string): void => {
    const tag = processId === undefined ? program : `${program}[${processId}]`;
    events.push({ at, seq: seq++, text: `${syslogTime(at)} ${HOST} ${tag}: ${message}` });
  };

  emit(start, "sshd", 1291, "Server listening on 0.0.0.0 port 22.");
  emit(start, "sshd", 1291, "Server listening on :: port 22.");
  emit(start, "systemd-logind", 1118, "New seat seat0.");

  while (events.length < target) {
    const at = start + Math.floor(random.next() * span);
    const kind = random.weighted<string>([
      ["cron", 30],
      ["login", 8],
      ["bruteforce", 12],
      ["scan", 10],
    ]);
    const sshd = ++pid;
    const port = random.int(30_000, 65_000);
    if (kind === "cron") {
      const hour = at - (at % 3_600_000) + 17 * 60_000 + 1000;
      emit(hour, "CRON", sshd, "pam_unix(cron:session): session opened for user root by (uid=0)");
      emit(hour, "CRON", sshd, "pam_unix(cron:session): session closed for user root");
    } else if (kind === "login") {
      const from = random.pick(["85.245.107.41", "24.151.103.17", "73.223.199.12"]);
      const id = session++;
      emit(
        at,
        "sshd",
        sshd,
        `Accepted publickey for ubuntu from ${from} port ${port} ssh2: RSA SHA256:${keyFingerprint(random)}`,
      );
      emit(at, "sshd", sshd, "pam_unix(sshd:session): session opened for user ubuntu by (uid=0)");
      emit(at, "systemd-logind", 1118, `New session ${id} of user ubuntu.`);
      let t = at;
      for (let i = random.int(0, 3); i > 0; i--) {
        t += random.int(20, 600) * 1000;
        emit(
          t,
          "sudo",
          undefined,
          `  ubuntu : TTY=pts/0 ; PWD=/home/ubuntu ; USER=root ; COMMAND=${random.pick(SUDO_COMMANDS)}`,
        );
        emit(t, "sudo", undefined, "pam_unix(sudo:session): session opened for user root by ubuntu(uid=0)");
        emit(t + 1000, "sudo", undefined, "pam_unix(sudo:session): session closed for user root");
      }
      t += random.int(60, 3_600) * 1000;
      emit(t, "sshd", sshd, `Received disconnect from ${from} port ${port}:11: disconnected by user`);
      emit(t, "sshd", sshd, `Disconnected from ${from} port ${port}`);
      emit(t, "sshd", sshd, "pam_unix(sshd:session): session closed for user ubuntu");
      emit(t, "systemd-logind", 1118, `Removed session ${id}.`);
    } else if (kind === "bruteforce") {
      const attacker = ip(random);
      const asRoot = random.chance(0.45);
      const user = asRoot ? "root" : GUESSED_USERS[random.zipf(GUESSED_USERS.length)];
      let t = at;
      if (asRoot) {
        emit(
          t,
          "sshd",
          sshd,
          `pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${attacker}  user=root`,
        );
        emit(t + 2000, "sshd", sshd, `Failed password for root from ${attacker} port ${port} ssh2`);
        emit(
          t + 9000,
          "sshd",
          sshd,
          `message repeated 5 times: [ Failed password for root from ${attacker} port ${port} ssh2]`,
        );
        emit(
          t + 9000,
          "sshd",
          sshd,
          `error: maximum authentication attempts exceeded for root from ${attacker} port ${port} ssh2 [preauth]`,
        );
      } else {
        emit(t, "sshd", sshd, `Invalid user ${user} from ${attacker}`);
        emit(t, "sshd", sshd, `input_userauth_request: invalid user ${user} [preauth]`);
        for (let attempt = 0; attempt < 6; attempt++) {
          t += random.int(1, 4) * 1000;
          emit(t, "sshd", sshd, "pam_unix(sshd:auth): check pass; user unknown");
          emit(
            t,
            "sshd",
            sshd,
            `pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${attacker} `,
          );
          emit(t + 2000, "sshd", sshd, `Failed password for invalid user ${user} from ${attacker} port ${port} ssh2`);
        }
        emit(
          t + 2000,
          "sshd",
          sshd,
          `error: maximum authentication attempts exceeded for invalid user ${user} from ${attacker} port ${port} ssh2 [preauth]`,
        );
      }
      emit(t + 2000, "sshd", sshd, "Disconnecting: Too many authentication failures [preauth]");
      emit(
        t + 2000,
        "sshd",
        sshd,
        `PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=${attacker}${asRoot ? "  user=root" : ""}`,
      );
      emit(t + 2000, "sshd", sshd, "PAM service(sshd) ignoring max retries; 6 > 3");
    } else {
      const scanner = ip(random);
      emit(at, "sshd", sshd, `Connection closed by ${scanner} port ${port} [preauth]`);
      if (random.chance(0.4)) emit(at, "sshd", sshd, `Received disconnect from ${scanner} port ${port}:11:  [preauth]`);
    }
  }
  // A log is written in time order; ties keep the order the daemon wrote them in.
  events.sort((a, b) => a.at - b.at || a.seq - b.seq);
  const lines = events.slice(0, target).map((e) => e.text);
  const file = await writeLines(path.join(dir, "auth.log"), lines);
  return { dataset: "syslog", files: [file], lines: lines.length, malformedLines: 0 };
};
