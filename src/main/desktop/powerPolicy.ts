/** What the OS says about the machine's power and network, as far as it says anything. */
export type PowerFacts = {
  onBattery: boolean;
  /** undefined: the OS does not say (no NetworkManager, another OS). */
  metered: boolean | undefined;
};

export type PowerSettings = { pause_on_battery: boolean; pause_on_metered: boolean };

/** Why transfers should be held now, in words the status sentence ends with ("Paused on battery power: …"). */
export function holdReason(facts: PowerFacts, settings: PowerSettings): string | undefined {
  if (settings.pause_on_battery && facts.onBattery) return 'on battery power';
  if (settings.pause_on_metered && facts.metered === true) return 'on a metered network';
  return undefined;
}

/**
 * The desktop app's power policy: the shell feeds it the power monitor's events and the network's
 * metered flag; it tells the engine to hold or let go only when the reason changes (so a person who
 * resumed by hand while on battery is not paused again until something changes).
 */
export class PowerPolicy {
  private facts: PowerFacts = { onBattery: false, metered: undefined };
  private last: string | undefined;

  constructor(
    private readonly hold: (reason: string | undefined) => void,
    private readonly settings: () => PowerSettings,
  ) {}

  battery(onBattery: boolean): void {
    this.facts = { ...this.facts, onBattery };
    this.update();
  }

  metered(metered: boolean | undefined): void {
    this.facts = { ...this.facts, metered };
    this.update();
  }

  /** The settings may have changed (a saved config): the reason is worked out again. */
  update(): void {
    const reason = holdReason(this.facts, this.settings());
    if (reason === this.last) return;
    this.last = reason;
    this.hold(reason);
  }
}
