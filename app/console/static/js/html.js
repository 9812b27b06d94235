// Preact + htm, vendored (see ../vendor/LICENSE-*): JSX-like templates with no build step.
import { h, render } from "preact";
import htm from "htm";

export const html = htm.bind(h);
export { render };
export { useState, useEffect, useRef, useMemo, useCallback } from "preact/hooks";
