#!/usr/bin/env node
// Writes the quickstart's sample exports: an HR extract (Windows-1252, ",", French dates)
// and an Active Directory export (entries, group members, managers). Seeded: the same
// files every time. Usage: node examples/quickstart/generate.mjs [people]
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const people = Number(process.argv[2] ?? 300);
let seed = 20261126;
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const pick = (list) => list[Math.floor(random() * list.length)];

const first = [
  "Amélie",
  "Bruno",
  "Chloé",
  "David",
  "Élodie",
  "François",
  "Gaëlle",
  "Hugo",
  "Inès",
  "Julien",
  "Karim",
  "Léa",
  "Mathis",
  "Noémie",
  "Olivier",
  "Pauline",
  "Quentin",
  "Rémi",
  "Sofia",
  "Thomas",
  "Ursule",
  "Victor",
  "Wendy",
  "Xavier",
  "Yasmine",
  "Zoé",
];
const last = [
  "Martin",
  "Bernard",
  "Dubois",
  "Thomas",
  "Robert",
  "Richard",
  "Petit",
  "Durand",
  "Leroy",
  "Moreau",
  "Simon",
  "Laurent",
  "Lefèvre",
  "Michel",
  "Garcia",
  "David",
  "Bertrand",
  "Roux",
  "Vincent",
  "Fournier",
  "O'Brien",
  "Müller",
];
const departments = ["Finance", "Human Resources", "IT", "Sales", "Marketing", "Legal", "Operations", "R&D"];
const groups = [
  "SG_APP_Payroll",
  "SG_APP_CRM",
  "SG_APP_ERP",
  "SG_VPN",
  "SG_Wifi_Corp",
  "SG_Share_Finance",
  "SG_Share_HR",
  "SG_Share_IT",
  "SG_Admins",
  "SG_Printers",
  "SG_APP_Jira",
  "SG_APP_Confluence",
];
const q = (v) => (/[",;\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
const pad = (n, w) => String(n).padStart(w, "0");
// Directory names are unique: a homonym gets its employee ID in its CN, as admins do.
const uniqueCn = (l, f, id) => {
  let cn = `CN=${l}\\, ${f},OU=Users,DC=corp,DC=example`;
  if (usedCn.has(cn)) cn = `CN=${l}\\, ${f} (${id}),OU=Users,DC=corp,DC=example`;
  usedCn.add(cn);
  return cn;
};
const hex = (n) => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join("");

const staff = [];
const usedCn = new Set();
for (let i = 1; i <= people; i++) {
  const f = pick(first);
  const l = pick(last);
  const id = pad(i, 5);
  const manager = i <= 8 ? (i === 1 ? "" : "00001") : pad(1 + Math.floor(random() * 8), 5);
  const login =
    `${f[0]}${l}`
      .normalize("NFD")
      .replace(/[^A-Za-z]/g, "")
      .toLowerCase() + i;
  staff.push({
    id,
    f,
    l,
    manager,
    login,
    department: pick(departments),
    hired: `${pad(1 + Math.floor(random() * 28), 2)}/${pad(1 + Math.floor(random() * 12), 2)}/${2005 + Math.floor(random() * 20)}`,
    active: random() < 0.95 ? "Y" : "N",
    cn: uniqueCn(l, f, id),
  });
}

// HR: Windows-1252, comma-separated, a title line before the header.
const hr = [
  "Extraction RH du 26/11/2026",
  "employeeId,firstName,lastName,email,department,hireDate,active,managerId",
];
for (const p of staff)
  hr.push(
    [p.id, p.f, p.l, `${p.login}@example.com`, p.department, p.hired, p.active, p.manager].map(q).join(","),
  );
const hrFile = join(here, "hr", "hr_people_20261126.csv");
mkdirSync(dirname(hrFile), { recursive: true });
writeFileSync(hrFile, Buffer.from(`${hr.join("\r\n")}\r\n`, "latin1"));

// AD: entries (users and groups), members, managers; UTF-8 with ";".
const entries = [
  "dn;objectClass;objectGUID;sAMAccountName;displayName;mail;employeeID;whenCreated;userAccountControl",
];
const time = () =>
  `20${pad(10 + Math.floor(random() * 16), 2)}${pad(1 + Math.floor(random() * 12), 2)}${pad(1 + Math.floor(random() * 28), 2)}${pad(Math.floor(random() * 24), 2)}${pad(Math.floor(random() * 60), 2)}00.0Z`;
const guid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
for (const p of staff) {
  if (p.active === "N" && random() < 0.5) continue; // some leavers already removed from AD
  entries.push(
    [
      p.cn,
      "user",
      guid(),
      p.login,
      `${p.f} ${p.l}`,
      `${p.login}@example.com`,
      p.id,
      time(),
      p.active === "Y" ? "512" : "514",
    ]
      .map(q)
      .join(";"),
  );
}
// A service account with no employee ID, as real directories have.
entries.push(
  [
    "CN=svc_backup,OU=Service,DC=corp,DC=example",
    "user",
    guid(),
    "svc_backup",
    "Backup service",
    "",
    "",
    time(),
    "66048",
  ]
    .map(q)
    .join(";"),
);
for (const g of groups)
  entries.push(
    [`CN=${g},OU=Groups,DC=corp,DC=example`, "group", guid(), g, g, "", "", time(), ""].map(q).join(";"),
  );
const inAd = new Set(
  entries
    .slice(1)
    .map((l) => (l.startsWith('"') ? l.slice(1, l.indexOf('";')).replace(/""/g, '"') : l.split(";")[0])),
);
const members = ["dn;member"];
for (const g of groups) {
  const count = 5 + Math.floor(random() * 60);
  const chosen = new Set();
  for (let k = 0; k < count; k++) chosen.add(pick(staff).cn);
  for (const cn of chosen)
    if (inAd.has(cn)) members.push([`CN=${g},OU=Groups,DC=corp,DC=example`, cn].map(q).join(";"));
}
const managers = ["dn;manager"];
const byId = new Map(staff.map((p) => [p.id, p]));
for (const p of staff) {
  const m = byId.get(p.manager);
  if (m && inAd.has(p.cn) && inAd.has(m.cn)) managers.push([p.cn, m.cn].map(q).join(";"));
}
writeFileSync(join(here, "ad", "ad_entries.csv"), `${entries.join("\n")}\n`);
writeFileSync(join(here, "ad", "ad_members.csv"), `${members.join("\n")}\n`);
writeFileSync(join(here, "ad", "ad_managers.csv"), `${managers.join("\n")}\n`);
console.log(
  `${staff.length} people, ${entries.length - 1} AD entries, ${members.length - 1} memberships, ${managers.length - 1} managers`,
);
