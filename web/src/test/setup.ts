import "@testing-library/jest-dom/vitest";
import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";

// The machine is shared and busy: give findBy* longer than the 1 s default before calling a view stuck.
configure({ asyncUtilTimeout: 5000 });

afterEach(() => cleanup());
