/** The test directory: a few thousand people and a few dozen groups, as LDIF (deterministic). */
import { SUFFIX } from "./slapd.js";

export const PEOPLE = `ou=People,${SUFFIX}`;
export const GROUPS = `ou=Groups,${SUFFIX}`;
export const USER_COUNT = 3000;
export const GROUP_COUNT = 40;
export const MANAGER_COUNT = 50;

export const userDN = (i: number) => `uid=u${String(i).padStart(4, "0")},${PEOPLE}`;
export const groupDN = (g: number) => `cn=g${String(g).padStart(2, "0")},${GROUPS}`;

/** objectGUID of user 1, in AD byte order, and its text form. */
export const GUID_1_BYTES = Buffer.from("33221100554477668899aabbccddeeff", "hex");
export const GUID_1_TEXT = "00112233-4455-6677-8899-aabbccddeeff";
/** A GUID whose bytes start like a UTF-8 byte order mark (user 3). */
export const GUID_3_BYTES = Buffer.from("efbbbf41424344454647484950515253", "hex");

/** A SID S-1-5-21-1004336348-1177238915-682003330-<rid> in binary form. */
export function sidBytes(rid: number): Buffer {
  const subs = [21, 1004336348, 1177238915, 682003330, rid];
  const out = Buffer.alloc(8 + 4 * subs.length);
  out[0] = 1;
  out[1] = subs.length;
  out.writeUIntBE(5, 2, 6);
  subs.forEach((s, i) => out.writeUInt32LE(s, 8 + 4 * i));
  return out;
}

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const GIVEN = ["Anna", "Élodie", "Zoë", "José", "Mei", "李", "Øystein", "Ana-María", "John", "Fatoumata"];
const FAMILY = [
  "Martin",
  "Müller",
  "O'Brien",
  "Nguyễn",
  "Dupont",
  "王",
  "Smith",
  "García",
  "Kowalski",
  "Ngata",
];

function line(name: string, value: string | Buffer): string {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  const safe =
    typeof value === "string" && /^[\x21-\x39\x3b\x3d-\x7e][\x20-\x7e]*$/.test(value) && !value.endsWith(" ");
  return safe ? `${name}: ${value}` : `${name}:: ${bytes.toString("base64")}`;
}

export function userLdif(i: number, rand: () => number = random(i)): string {
  const uid = `u${String(i).padStart(4, "0")}`;
  const given = GIVEN[i % GIVEN.length] as string;
  const family = FAMILY[Math.floor(i / GIVEN.length) % FAMILY.length] as string;
  const lines = [
    line("dn", userDN(i)),
    "objectClass: inetOrgPerson",
    "objectClass: syncupTestObject",
    line("uid", uid),
    line("cn", `${given} ${family}`),
    line("sn", family),
    line("givenName", given),
    line("mail", `${uid}@example.com`),
  ];
  if (i % 10 === 0) lines.push(line("mail", `${uid}.alt@example.org`));
  if (i === 1) lines.push(line("mail", "pipe|and\\backslash@example.com"));
  lines.push(line("employeeNumber", i === 2 ? "E|2\\x" : String(100000 + i)));
  if (i % 3 === 0) lines.push(line("title", i % 2 === 0 ? "Engineer" : "Analyst; senior"));
  if (i % 7 === 0) lines.push(line("description", `semi;colon "quoted"\nsecond line of ${uid}`));
  if (i % 14 === 0) lines.push(line("description", "another value"));
  if (i > MANAGER_COUNT) lines.push(line("manager", userDN((i % MANAGER_COUNT) + 1)));
  const guid =
    i === 1
      ? GUID_1_BYTES
      : i === 3
        ? GUID_3_BYTES
        : Buffer.from(Array.from({ length: 16 }, () => Math.floor(rand() * 256)));
  lines.push(line("objectGUID", guid));
  lines.push(line("objectSid", sidBytes(1000 + i)));
  if (i % 100 === 0)
    lines.push(line("jpegPhoto", Buffer.from(Array.from({ length: 64 }, () => Math.floor(rand() * 256)))));
  return lines.join("\n") + "\n";
}

/** Members of group g: every user whose number is g modulo the group count; group 1 has everyone. */
export function groupMembers(g: number): number[] {
  const members: number[] = [];
  for (let i = 1; i <= USER_COUNT; i++) if (g === 1 || i % GROUP_COUNT === g % GROUP_COUNT) members.push(i);
  return members;
}

export function groupLdif(g: number): string {
  const lines = [
    line("dn", groupDN(g)),
    "objectClass: groupOfNames",
    line("cn", `g${String(g).padStart(2, "0")}`),
  ];
  if (g % 5 === 0) lines.push(line("description", `Group ${g} | with a pipe`));
  for (const m of groupMembers(g)) lines.push(line("member", userDN(m)));
  return lines.join("\n") + "\n";
}

export function directoryLdif(): string {
  const parts = [
    `dn: ${PEOPLE}\nobjectClass: organizationalUnit\nou: People\n`,
    `dn: ${GROUPS}\nobjectClass: organizationalUnit\nou: Groups\n`,
  ];
  for (let i = 1; i <= USER_COUNT; i++) parts.push(userLdif(i));
  for (let g = 1; g <= GROUP_COUNT; g++) parts.push(groupLdif(g));
  return parts.join("\n");
}
