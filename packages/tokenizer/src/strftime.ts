// Python-style strftime for chat templates (Llama 3.x calls strftime_now("%d %b %Y")), in English and
// independent of the process locale.

const monthNames = [
  "January", "February", "March", "April", "May", "June",
  "July", "August", "September", "October", "November", "December",
];
const weekdayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

function pad(value: number, width = 2): string {
  return String(value).padStart(width, "0");
}

function dayOfYear(date: Date): number {
  const startOfYear = new Date(date.getFullYear(), 0, 1);
  return Math.round((new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime() - startOfYear.getTime()) / 86_400_000) + 1;
}

/**
 * Formats `date` in local time. Supports %a %A %b %B %d %e %H %I %j %m %M %p %S %y %Y %% (and %-d, %-m, %-H,
 * %-I, %-M, %-S without padding); other directives are left as written.
 */
export function strftime(date: Date, format: string): string {
  return format.replace(/%(-?)([a-zA-Z%])/g, (directive, noPadding: string, code: string) => {
    const number = (value: number, width = 2) => (noPadding ? String(value) : pad(value, width));
    const hours12 = date.getHours() % 12 === 0 ? 12 : date.getHours() % 12;
    switch (code) {
      case "a": return weekdayNames[date.getDay()].slice(0, 3);
      case "A": return weekdayNames[date.getDay()];
      case "b": return monthNames[date.getMonth()].slice(0, 3);
      case "B": return monthNames[date.getMonth()];
      case "d": return number(date.getDate());
      case "e": return String(date.getDate()).padStart(2, " ");
      case "H": return number(date.getHours());
      case "I": return number(hours12);
      case "j": return number(dayOfYear(date), 3);
      case "m": return number(date.getMonth() + 1);
      case "M": return number(date.getMinutes());
      case "p": return date.getHours() < 12 ? "AM" : "PM";
      case "S": return number(date.getSeconds());
      case "y": return pad(date.getFullYear() % 100);
      case "Y": return String(date.getFullYear());
      case "%": return "%";
      default: return directive;
    }
  });
}
