package desktop

// Report is what the frontend says it shows once a view has rendered, and
// after each change of it while a test or the benchmark listens: the view's
// name and its sessions' rows as the DOM holds them (their text, read with
// innerText). It is how the window test and desktopbench see the window's
// content: WebKitGTK offers no driver protocol in a Wails build, and the
// screenshot alone cannot say which session a row is.
type Report struct {
	View string `json:"view"`
	Rows []Row  `json:"rows"`
	// Setup lists what the first-run view shows, by step: token, engine,
	// image, keychain.
	Setup map[string]string `json:"setup,omitempty"`
}

// Row is one session's row of the sessions view.
type Row struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

// setReporter sets what receives the frontend's reports; nil (the
// default) makes the frontend send none.
func (a *App) setReporter(f func(Report)) {
	a.mu.Lock()
	a.ready = f
	a.mu.Unlock()
}

// Reporting says whether the frontend should send reports; it asks once.
func (a *App) Reporting() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ready != nil
}

// ReportReady receives the frontend's report of what it shows.
func (a *App) ReportReady(r Report) error {
	a.mu.Lock()
	f := a.ready
	a.mu.Unlock()
	if f != nil {
		f(r)
	}
	return nil
}
