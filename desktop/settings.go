package desktop

import "github.com/clauderon/clauderon/config"

// Settings are config.json's "desktop" section, defaults filled in.
type Settings struct {
	// Terminal is config.TerminalExternal or config.TerminalWindow.
	Terminal string
	// Notifications turns each kind on or off by name; every kind is
	// listed.
	Notifications map[string]bool
}

// LoadSettings reads the desktop section of $CLAUDERON_HOME/config.json.
func LoadSettings() (Settings, error) {
	home, err := config.Home()
	if err != nil {
		return Settings{}, err
	}
	c, err := config.Load(home)
	if err != nil {
		return Settings{}, err
	}
	return settingsOf(c), nil
}

func settingsOf(c config.Config) Settings {
	s := Settings{Terminal: c.DesktopTerminal(), Notifications: map[string]bool{}}
	for _, k := range config.DesktopNotificationKinds {
		on, set := c.Desktop.Notifications[k]
		s.Notifications[k] = on || !set
	}
	return s
}
