import * as path from "node:path";
import type { SeededRandom } from "./prng";
import { scaled, writeLines, type DatasetGenerator } from "./types";

/** 0 normal, 1 pneumonia, 2 COVID-19, with the file-name prefixes each source uses. */
const CLASSES: ReadonlyArray<
  readonly [{ readonly id: number; readonly name: (random: SeededRandom) => string }, number]
> = [
  [{ id: 0, name: (r) => `Normal_${r.int(700, 3_900)}_${r.int(100, 5_500)}_` }, 47],
  [{ id: 1, name: (r) => `CP_${r.int(500, 2_500)}_${r.int(2_900, 4_300)}_` }, 29],
  [
    {
      id: 2,
      name: (r) =>
        r.chance(0.75)
          ? `NCP_${r.int(1_000, 1_400)}_${r.int(2_500, 4_000)}_`
          : `coronacases_${String(r.int(1, 10)).padStart(3, "0")}-`,
    },
    24,
  ],
];

/**
 * `train_COVIDx_CT-2A.txt`, `val_…`, `test_…`: `filename class xmin ymin xmax ymax`, one slice per
 * line, LF with a final newline. Each scan contributes a run of consecutive slices whose lung box
 * drifts a few pixels from slice to slice, as in the real split files.
 */
export const generateCovidx: DatasetGenerator = async ({ dir, scale, random }) => {
  const splits: ReadonlyArray<readonly [string, number]> = [
    ["train", scaled(2_000, scale, 10)],
    ["val", scaled(500, scale, 5)],
    ["test", scaled(500, scale, 5)],
  ];
  const files: string[] = [];
  let total = 0;
  for (const [split, count] of splits) {
    const lines: string[] = [];
    while (lines.length < count) {
      const kind = random.weighted(CLASSES);
      const scan = kind.name(random);
      let [xmin, ymin, xmax, ymax] = [
        random.int(0, 120),
        random.int(60, 230),
        random.int(380, 512),
        random.int(330, 470),
      ];
      const first = random.int(0, 60);
      const last = first + random.int(10, 80);
      for (let slice = first; slice < last && lines.length < count; slice++) {
        lines.push(`${scan}${String(slice).padStart(4, "0")}.png ${kind.id} ${xmin} ${ymin} ${xmax} ${ymax}`);
        xmin = Math.max(0, xmin + random.int(-3, 3));
        ymin = Math.max(0, ymin + random.int(-4, 3));
        xmax = Math.min(512, Math.max(xmin + 1, xmax + random.int(-3, 3)));
        ymax = Math.min(512, Math.max(ymin + 1, ymax + random.int(-3, 4)));
      }
    }
    files.push(await writeLines(path.join(dir, `${split}_COVIDx_CT-2A.txt`), lines));
    total += lines.length;
  }
  return { dataset: "covidx_ct", files, lines: total, malformedLines: 0 };
};
