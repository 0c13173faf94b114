// date-fns's whole index (about 250 `export *` lines), imported by name and as a namespace.
import * as dateFns from "date-fns";
import { format, addDays, differenceInCalendarDays } from "date-fns";

const day = format(addDays(new Date(2020, 0, 31), 1), "yyyy-MM-dd");
const span = differenceInCalendarDays(new Date(2024, 2, 1), new Date(2023, 2, 1));
console.log(JSON.stringify({ exports: Object.keys(dateFns).length, day, span }));
