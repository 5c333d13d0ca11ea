import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import { ChipsInput, CheckboxGroup } from "./components";

afterEach(cleanup);

function Chips({ initial = [] as string[] }) {
  const [values, setValues] = useState(initial);
  return (
    <>
      <ChipsInput label="Words" name="words" values={values} onChange={setValues} />
      <output data-testid="value">{JSON.stringify(values)}</output>
    </>
  );
}

const value = () => JSON.parse(screen.getByTestId("value").textContent ?? "[]");

describe("ChipsInput", () => {
  it("adds words on Enter and comma, skipping blanks and duplicates", () => {
    render(<Chips />);
    const input = screen.getByLabelText("Words");
    fireEvent.change(input, { target: { value: "gaming" } });
    fireEvent.keyDown(input, { key: "Enter" });
    fireEvent.change(input, { target: { value: "pc, gaming ,  , rtx 4070" } });
    fireEvent.keyDown(input, { key: "," });
    expect(value()).toEqual(["gaming", "pc", "rtx 4070"]);
    expect((input as HTMLInputElement).value).toBe("");
  });

  it("removes a chip with its button, and the last one with Backspace in an empty box", () => {
    render(<Chips initial={["a", "b", "c"]} />);
    fireEvent.click(screen.getByRole("button", { name: "Remove b" }));
    expect(value()).toEqual(["a", "c"]);
    fireEvent.keyDown(screen.getByLabelText("Words"), { key: "Backspace" });
    expect(value()).toEqual(["a"]);
  });

  it("keeps what was typed when focus leaves", () => {
    render(<Chips />);
    const input = screen.getByLabelText("Words");
    fireEvent.change(input, { target: { value: "oled" } });
    fireEvent.blur(input);
    expect(value()).toEqual(["oled"]);
  });
});

describe("CheckboxGroup", () => {
  it("toggles options in and out of the selection", () => {
    function Group() {
      const [selected, setSelected] = useState(["tv"]);
      return (
        <>
          <CheckboxGroup legend="Categories" name="c" options={["tv", "audio"]} selected={selected} onChange={setSelected} />
          <output data-testid="value">{JSON.stringify(selected)}</output>
        </>
      );
    }
    render(<Group />);
    fireEvent.click(screen.getByRole("checkbox", { name: "audio" }));
    fireEvent.click(screen.getByRole("checkbox", { name: "tv" }));
    expect(value()).toEqual(["audio"]);
  });
});
