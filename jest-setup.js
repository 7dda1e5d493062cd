// Jest setup provided by Grafana scaffolding
import './.config/jest-setup';

// Combobox measures option text with a canvas; jsdom has none.
HTMLCanvasElement.prototype.getContext = function getContext() {
  return {
    measureText: (text) => ({ width: String(text).length * 7 }),
    font: '',
  };
};

// Combobox lists are virtualised and need a size.
if (!global.ResizeObserver) {
  global.ResizeObserver = class {
    observe() {}
    unobserve() {}
    disconnect() {}
  };
}
