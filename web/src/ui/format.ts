// Money and dates through Intl only; money arrives as decimal strings or integer minor units, never floats we add up.

const minorDigits = (currency: string): number =>
  new Intl.NumberFormat("en", { style: "currency", currency: currency.toUpperCase() }).resolvedOptions().maximumFractionDigits ?? 2;

/** A decimal string amount ("12.50") in the account's currency. */
export function money(amount: string, currency: string): string {
  const fmt = new Intl.NumberFormat(undefined, { style: "currency", currency: currency.toUpperCase() });
  // Intl formats strings exactly (no float rounding) where the engine supports it; Number() is display-only.
  return fmt.format(amount as unknown as number);
}

/** A per-unit price ("0.002"): sub-cent digits kept, at least the currency's own. */
export function unitPrice(amount: string, currency: string): string {
  const fmt = new Intl.NumberFormat(undefined, { style: "currency", currency: currency.toUpperCase(), maximumFractionDigits: 6 });
  return fmt.format(amount as unknown as number);
}

/** Integer minor units (cents) in the account's currency. */
export function moneyMinor(minor: number, currency: string): string {
  const digits = minorDigits(currency);
  const sign = minor < 0 ? "-" : "";
  const abs = Math.abs(minor).toString().padStart(digits + 1, "0");
  const decimal = digits === 0 ? abs : `${abs.slice(0, -digits)}.${abs.slice(-digits)}`;
  return money(`${sign}${decimal}`, currency);
}

export function quantity(value: string): string {
  return new Intl.NumberFormat(undefined, { maximumFractionDigits: 3 }).format(value as unknown as number);
}

// Four decimals, rounded half to even: how the API words a fraction of a term on the line itself ("0.9731 of its
// term left", rating/money.py `fraction_text`), so an invoice line's quantity column and its description agree.
// (`roundingMode` is ES2023; the lib here is ES2022, hence the cast.)
const LINE_QUANTITY = new Intl.NumberFormat(undefined, { maximumFractionDigits: 4, roundingMode: "halfEven" } as Intl.NumberFormatOptions);

/** An invoice line's quantity ("0.9731" of a term left, "120000" API calls): the one format for invoice lines. */
export function lineQuantity(value: string): string {
  return LINE_QUANTITY.format(value as unknown as number);
}

export function date(iso: string): string {
  return new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" }).format(new Date(iso));
}

// Times always name their zone: the app shows every instant in UTC (the zone periods and settlement use), and a
// time without "UTC" reads as the viewer's local time. dateStyle/timeStyle cannot carry timeZoneName, hence fields.
const DATE_TIME = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "numeric",
  minute: "2-digit",
  timeZone: "UTC",
  timeZoneName: "short",
});
const TIME_OF_DAY = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit", timeZone: "UTC", timeZoneName: "short" });

/** A date and time in UTC, saying so ("Dec 4, 2026, 7:14 PM UTC"). */
export function dateTime(iso: string | Date): string {
  return DATE_TIME.format(typeof iso === "string" ? new Date(iso) : iso);
}

/** The time of day of `iso` in UTC, saying so ("2:00 PM UTC"). */
export function timeOfDay(iso: string): string {
  return TIME_OF_DAY.format(new Date(iso));
}

/** Whole days from `now` until `iso` (0 once passed). */
export function daysUntil(iso: string, now: Date): number {
  return Math.max(0, Math.ceil((new Date(iso).getTime() - now.getTime()) / 86_400_000));
}
