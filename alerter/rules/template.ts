// Annotation templates of alert rules: `{{ $labels.name }}` and `{{ $value }}`, and nothing more.

const PLACEHOLDER = /\{\{(.*?)\}\}/g;
const LABEL = /^\s*\$labels\.([A-Za-z_][A-Za-z0-9_]*)\s*$/;
const VALUE = /^\s*\$value\s*$/;

/** The first placeholder of `text` that is neither form, or undefined when all are fine. */
export function badPlaceholder(text: string): string | undefined {
  for (const match of text.matchAll(PLACEHOLDER)) {
    const inner = match[1] ?? '';
    if (!LABEL.test(inner) && !VALUE.test(inner)) return match[0];
  }
  return undefined;
}

/** A value as annotations show it: whole numbers as they are, others to 6 significant digits. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value) || Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(6)));
}

/** Fills the placeholders; a label the alert does not have becomes an empty string. */
export function expandTemplate(
  text: string,
  labels: Readonly<Record<string, string>>,
  value: number,
): string {
  return text.replace(PLACEHOLDER, (whole, inner: string) => {
    if (VALUE.test(inner)) return formatValue(value);
    const label = LABEL.exec(inner)?.[1];
    return label === undefined ? whole : (labels[label] ?? '');
  });
}

/** Every annotation of a rule, expanded for one alert. */
export function expandAnnotations(
  annotations: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>>,
  value: number,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, text] of Object.entries(annotations)) {
    out[key] = expandTemplate(text, labels, value);
  }
  return out;
}
