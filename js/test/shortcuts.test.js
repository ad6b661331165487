// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { suppressShortcuts } from "../src/shortcuts.js";

const ATTRIBUTE = "data-lm-suppress-shortcuts";

describe("suppressShortcuts", () => {
  it("marks the host and each element that takes focus inside it, until released", () => {
    const host = document.createElement("div");
    const slider = Object.assign(document.createElement("input"), { type: "range" });
    const later = document.createElement("button"); // a control added after render
    host.append(slider);
    document.body.append(host);
    const release = suppressShortcuts(host);
    expect(host.getAttribute(ATTRIBUTE)).toBe("true");
    slider.focus();
    expect(slider.getAttribute(ATTRIBUTE)).toBe("true");
    host.append(later);
    later.focus();
    expect(later.getAttribute(ATTRIBUTE)).toBe("true");
    release();
    const afterRelease = document.createElement("select");
    host.append(afterRelease);
    afterRelease.focus();
    expect(afterRelease.hasAttribute(ATTRIBUTE)).toBe(false);
    host.remove();
  });
});
