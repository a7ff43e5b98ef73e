// Whether operations record the autograd graph (`noGrad`, `enableGrad`).

export const gradMode = { enabled: true };

/**
 * Run `fn` without recording gradients, like `with torch.no_grad()`.
 * @example
 * const y = noGrad(() => model.forward(x));
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradMode.enabled;
  gradMode.enabled = false;
  try {
    return fn();
  } finally {
    gradMode.enabled = prev;
  }
}

/** Run `fn` with gradient recording on, even inside `noGrad`. */
export function enableGrad<T>(fn: () => T): T {
  const prev = gradMode.enabled;
  gradMode.enabled = true;
  try {
    return fn();
  } finally {
    gradMode.enabled = prev;
  }
}

export function isGradEnabled(): boolean {
  return gradMode.enabled;
}

export function setGradEnabled(on: boolean): void {
  gradMode.enabled = on;
}
