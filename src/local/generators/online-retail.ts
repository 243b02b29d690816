import * as path from "node:path";
import type { SeededRandom } from "./prng";
import { scaled, writeLines, type DatasetGenerator } from "./types";

const NOUNS = [
  "T-LIGHT HOLDER",
  "LANTERN",
  "COAT HANGER",
  "HOT WATER BOTTLE",
  "NESTING BOXES",
  "METAL SIGN",
  "LUNCH BAG",
  "CAKE CASES",
  "BUNTING",
  "DOORMAT",
  "JAM JAR",
  "MUG",
  "PHOTO FRAME",
  "CANDLE",
];
const ADJECTIVES = [
  "WHITE HANGING HEART",
  "RED RETROSPOT",
  "VINTAGE",
  "PINK REGENCY",
  "JUMBO",
  "GLASS STAR FROSTED",
  "SET OF 3 COLOURED",
  "KNITTED UNION FLAG",
  "CREAM CUPID HEARTS",
  "ASSORTED COLOUR",
  "WOODEN",
];
/** Countries weighted like the export (the UK dominates). */
const COUNTRIES: ReadonlyArray<readonly [string, number]> = [
  ["United Kingdom", 9100],
  ["Germany", 170],
  ["France", 150],
  ["EIRE", 150],
  ["Spain", 47],
  ["Netherlands", 44],
  ["Belgium", 38],
  ["Switzerland", 37],
  ["Portugal", 28],
  ["Australia", 23],
  ["Norway", 20],
  ["Italy", 15],
];

interface Product {
  readonly code: string;
  readonly description: string;
  readonly price: number;
}

/** CSV field as Excel-style exports write it: quoted only when it holds a comma or a quote. */
function csvField(value: string): string {
  return /[",]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function product(random: SeededRandom, index: number): Product {
  const code = `${random.int(10_002, 90_214)}${random.chance(0.3) ? random.pick(["A", "B", "C", "E", "G", "N", "BL"]) : ""}`;
  let description = `${random.pick(ADJECTIVES)} ${random.pick(NOUNS)}`;
  // Real descriptions sometimes carry commas, inch marks and stray trailing spaces.
  if (index % 23 === 5) description = `${random.pick(NOUNS)},${random.pick(ADJECTIVES)}`;
  if (index % 31 === 7) description = `RECORD FRAME 7" SINGLE SIZE `;
  if (index % 17 === 3) description += " ";
  return {
    code,
    description,
    price: random.pick([0.42, 0.85, 1.25, 1.65, 2.1, 2.55, 2.95, 3.39, 4.25, 4.95, 7.65, 12.75]),
  };
}

/** `M/D/YYYY H:MM`, the export's (US-style, no leading zeros) date format. */
function invoiceDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()} ${d.getUTCHours()}:${String(d.getUTCMinutes()).padStart(2, "0")}`;
}

/**
 * `online_retail.csv`: the UCI Online Retail export's shape. Header, CRLF line ends, no final
 * newline; invoices numbered from 536365 from Dec 1, 2010 (8:00-20:00 UK time) to Dec 9, 2011,
 * 1-30 lines each; about 25% of lines belong to invoices without a CustomerID; about 2% are
 * cancellations (`C` + number, negative quantities); POST and D (Discount) lines as in the export.
 */
export const generateOnlineRetail: DatasetGenerator = async ({ dir, scale, random }) => {
  const target = scaled(5_000, scale, 20);
  const products = Array.from({ length: scaled(400, scale, 30) }, (_, i) => product(random, i));
  const customers = Array.from({ length: scaled(300, scale, 5) }, () => ({
    id: random.int(12_346, 18_287),
    country: random.weighted(COUNTRIES),
  }));
  const start = Date.UTC(2010, 11, 1);
  const end = Date.UTC(2011, 11, 9, 12, 50);
  const rows: string[] = [];
  let invoiceNo = 536_365;
  // An invoice's time follows the share of lines written so far, laid over the shop's trading hours
  // (8:00-20:00) of every day: the lines span the whole year whatever the scale.
  const tradingDays = Math.round((end - start) / 86_400_000) + 1;
  const firstDay = Date.UTC(2010, 11, 1);
  while (rows.length < target) {
    const minute = Math.floor((rows.length / target) * tradingDays * 720);
    const clock = firstDay + Math.floor(minute / 720) * 86_400_000 + (8 * 60 + (minute % 720)) * 60_000;
    // About 10% of invoices are cancellations of 1-4 lines: ~2% of lines, as in the export.
    const cancelled = random.chance(0.1);
    const anonymous = random.chance(0.25);
    const customer = random.pick(customers);
    const lineCount = cancelled ? random.int(1, 4) : random.int(1, 30);
    const invoice = `${cancelled ? "C" : ""}${invoiceNo++}`;
    for (let i = 0; i < lineCount && rows.length < target; i++) {
      const item =
        cancelled && random.chance(0.1) ? { code: "D", description: "Discount", price: 27.5 } : random.pick(products);
      const quantity = random.pick([1, 2, 3, 4, 6, 8, 12, 12, 24, 48]) * (cancelled ? -1 : 1);
      rows.push(
        [
          invoice,
          item.code,
          csvField(item.description),
          String(quantity),
          invoiceDate(clock),
          String(item.price),
          anonymous ? "" : String(customer.id),
          anonymous ? "United Kingdom" : customer.country,
        ].join(","),
      );
    }
    if (
      !cancelled &&
      !anonymous &&
      customer.country !== "United Kingdom" &&
      random.chance(0.5) &&
      rows.length < target
    ) {
      rows.push(
        [invoice, "POST", "POSTAGE", "1", invoiceDate(clock), "18", String(customer.id), customer.country].join(","),
      );
    }
  }
  const header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country";
  const file = await writeLines(path.join(dir, "online_retail.csv"), [header, ...rows], {
    eol: "\r\n",
    finalNewline: false,
  });
  return { dataset: "ecommerce_invoices", files: [file], lines: rows.length, malformedLines: 0 };
};
