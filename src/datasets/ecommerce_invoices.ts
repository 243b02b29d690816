import type { Dataset } from "./types";

/**
 * UCI Online Retail (seed 001): `InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,
 * CustomerID,Country`, dates like `12/1/2010 8:26`, CRLF line ends, quoted descriptions with commas.
 * Cancelled invoices start with C and have negative quantities; CustomerID is often empty.
 */
export const ecommerce_invoices: Dataset = {
  name: "ecommerce_invoices",
  description: "UCI Online Retail invoice lines",
  columns: [
    { name: "invoice_no", type: "string", comment: "invoice number; C prefix marks a cancellation" },
    { name: "stock_code", type: "string", comment: "product code" },
    { name: "description", type: "string", comment: "product description" },
    { name: "quantity", type: "int", comment: "units; negative on cancellations" },
    { name: "invoice_date", type: "timestamp", comment: "invoice time as written (UK local)" },
    { name: "unit_price", type: "double", comment: "unit price, GBP" },
    { name: "customer_id", type: "bigint", comment: "customer id, null when unknown" },
    { name: "country", type: "string", comment: "customer country" },
    { name: "is_cancellation", type: "boolean", comment: "invoice_no starts with C" },
  ],
  source: {
    kind: "csv",
    agentProcessing: [
      {
        optionName: "CSVTOJSON",
        customFieldNames: [
          "InvoiceNo",
          "StockCode",
          "Description",
          "Quantity",
          "InvoiceDate",
          "UnitPrice",
          "CustomerID",
          "Country",
        ],
      },
    ],
    skipHeaderLines: 1,
    filePattern: "/data/online_retail/*.csv",
  },
  transform: "ecommerce_invoices",
  partitionKeys: [
    {
      name: "month",
      jq: ".invoice_date[0:7]",
      fromRecord: (r) => String(r.invoice_date).slice(0, 7),
      projection: { type: "date", format: "yyyy-MM", range: "2010-01,NOW" },
    },
  ],
  // The export has no line number: identical lines on one invoice are one line (the UCI data has a
  // few such repeats; see README, "Duplicates").
  dedupeKey: ["invoice_no", "stock_code", "description", "quantity", "invoice_date", "unit_price"],
  warehouse: { distKey: "invoice_no", sortKey: ["invoice_date"] },
};
