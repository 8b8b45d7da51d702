/**
 * The main screen: top bar with navigation, banner, the recovery code reminder, the call bar,
 * sidebar and the detail pane (with the call screen over it); the sign-out dialog, a contact's
 * profile and an incoming call over it all.
 */
import type { CallEngine } from '../calls/engine';
import type { Controller } from '../controller';
import { el, setAttr, setText } from './dom';
import { displayName, type AppState, type Nav, type Panel } from '../model/state';
import { avatarElement } from './avatar';
import { createBanner, createNotice } from './banner';
import { createCallScreen } from './call-screen';
import { createConfirmDialog } from './confirm';
import { createContactProfile } from './contact-profile';
import { createConversationView } from './conversation';
import { createPictureViewer } from './picture-viewer';
import { createProfileView } from './profile';
import { createRecoveryCard } from './recovery';
import { createSearchView } from './search';
import { createSettingsView } from './settings';
import { createSidebar } from './sidebar';
import { createSignOutDialog } from './sign-out';

export type MainScreen = { element: HTMLElement; update(state: AppState, prev: AppState | null): void; destroy(): void };

export function createMainScreen(ctl: Controller, calls: CallEngine): MainScreen {
  const navButton = (id: string, label: string, panel: Panel) => {
    const b = el('button', { id, type: 'button', 'data-panel': panel }, label);
    b.addEventListener('click', () => {
      if (panel === 'chats') {
        ctl.setNav({ panel: 'chats', pane: 'list' });
      } else ctl.showPanel(panel);
    });
    return b;
  };
  const navChats = navButton('nav-chats', 'Chats', 'chats');
  const navSearch = navButton('nav-search', 'Search', 'search');
  const navProfile = navButton('nav-profile', 'Profile', 'profile');
  const navSettings = navButton('nav-settings', 'Settings', 'settings');
  const signOut = el('button', { id: 'sign-out', type: 'button' }, 'Sign out');
  navSearch.setAttribute('aria-keyshortcuts', 'Control+K');
  const me = el('div', { id: 'me', class: 'me' }, el('span', { class: 'avatar' }), el('span', { class: 'me-text' }, el('span', { class: 'me-name' }), el('span', { class: 'me-state' })));
  const topbar = el(
    'header',
    { class: 'topbar' },
    el('span', { class: 'brand', 'aria-hidden': 'true' }, 'Parley'),
    me,
    el('nav', { class: 'main-nav', 'aria-label': 'Main' }, navChats, navSearch, navProfile, navSettings, signOut),
  );
  const banner = createBanner();
  const recovery = createRecoveryCard(ctl, () => navChats.focus());
  const notice = createNotice(ctl);
  const sidebar = createSidebar(ctl);
  const conversation = createConversationView(
    ctl,
    calls,
    (userId, opener) => contactProfile.open(userId, opener),
    (question) => confirm.ask(question),
    (message, opener) => pictureViewer.open(message, opener),
  );
  const search = createSearchView(ctl);
  const profile = createProfileView(ctl);
  const settings = createSettingsView(ctl, calls);
  const callScreen = createCallScreen(ctl, calls);
  const empty = el('div', { id: 'empty-pane', class: 'empty-pane' }, el('p', {}, 'Choose a contact to start chatting, or join a room to meet people.'));
  const detail = el('main', { class: 'detail', id: 'detail' }, conversation.element, search.element, profile.element, settings.element, empty);
  // The call screen covers the conversation pane (the whole layout on narrow screens).
  const layout = el('div', { class: 'layout' }, sidebar.element, detail, callScreen.stage);
  const screen = [topbar, banner.element, recovery.element, notice.element, callScreen.bar, callScreen.outcome, layout];
  const signOutDialog = createSignOutDialog(ctl, signOut, screen);
  const contactProfile = createContactProfile(ctl, screen);
  const confirm = createConfirmDialog(screen);
  const pictureViewer = createPictureViewer(ctl, screen);
  // The incoming call floats over everything, dialogs included (never made inert by one).
  const element = el('div', { id: 'main' }, ...screen, signOutDialog.element, contactProfile.element, confirm.element, pictureViewer.element, callScreen.incoming, callScreen.announcer);

  signOut.addEventListener('click', () => signOutDialog.open());

  const applyNav = (nav: Nav, prev: Nav | null) => {
    element.dataset.panel = nav.panel;
    element.dataset.pane = nav.pane;
    for (const b of [navChats, navSearch, navProfile, navSettings]) setAttr(b, 'aria-current', b.dataset.panel === nav.panel ? 'page' : null);
    search.element.hidden = nav.panel !== 'search';
    profile.element.hidden = nav.panel !== 'profile';
    settings.element.hidden = nav.panel !== 'settings';
    const state = ctl.store.get();
    conversation.element.hidden = nav.panel !== 'chats' || state.open === null;
    empty.hidden = nav.panel !== 'chats' || state.open !== null;
    if (prev === null || nav.panel !== prev.panel) {
      if (prev?.panel === 'settings') settings.leave();
      if (nav.panel === 'search') search.focus();
      if (nav.panel === 'profile') {
        profile.load();
        profile.element.querySelector('h2')?.setAttribute('tabindex', '-1');
        (profile.element.querySelector('h2') as HTMLElement).focus();
      }
      if (nav.panel === 'settings') {
        settings.load();
        settings.element.querySelector('h2')?.setAttribute('tabindex', '-1');
        (settings.element.querySelector('h2') as HTMLElement).focus();
      }
    }
    if (prev !== null && nav.panel === 'chats' && nav.pane === 'list' && (prev.pane === 'detail' || prev.panel !== 'chats')) {
      const id = state.open?.userId;
      const target = id !== undefined ? sidebar.element.querySelector<HTMLElement>(`[data-user-id="${CSS.escape(id)}"] button`) : null;
      (target ?? navChats).focus();
    }
  };
  applyNav(ctl.nav, null);

  const onKey = (e: KeyboardEvent) => {
    // While the dialog is open, the keys are its own; nothing behind it reacts.
    if (signOutDialog.isOpen()) {
      signOutDialog.onKey(e);
      return;
    }
    // The profile dialog, the confirmation and the picture viewer handle their own keys (Escape, Tab); nothing behind them reacts.
    if (contactProfile.isOpen() || confirm.isOpen() || pictureViewer.isOpen()) return;
    if (e.key === 'Escape' && !e.defaultPrevented) {
      if (ctl.back()) e.preventDefault();
    } else if ((e.ctrlKey || e.metaKey) && !e.shiftKey && !e.altKey && e.key.toLowerCase() === 'k') {
      e.preventDefault();
      ctl.showPanel('search');
      search.focus();
    }
  };
  document.addEventListener('keydown', onKey);

  let meKey = '';
  return {
    element,
    update(state, prev) {
      if (prev !== null && state.nav !== prev.nav) {
        applyNav(state.nav, prev.nav);
        // Only the panel or pane changed: the rest is drawn already (the call screen makes way for a panel).
        if ((Object.keys(state) as (keyof AppState)[]).every((k) => k === 'nav' || state[k] === prev[k])) {
          callScreen.update(state, prev);
          return;
        }
      }
      element.dataset.connection = state.connection;
      const user = state.me;
      const username = user?.username ?? state.username ?? '';
      me.dataset.username = username;
      const name = user !== null ? displayName(user) : username;
      setText(me.querySelector('.me-name') as Element, name);
      const stateText = state.connection === 'online' ? 'online' : state.connection === 'offline' ? 'offline' : 'connecting\u2026';
      setText(me.querySelector('.me-state') as Element, user?.status ? `${stateText} \u00b7 ${user.status}` : stateText);
      const key = `${user?.id}|${user?.avatar_url}|${name}`;
      if (key !== meKey) {
        meKey = key;
        const avatar = me.querySelector('.avatar') as HTMLElement;
        avatar.replaceWith(user !== null ? avatarElement(ctl, user, name) : el('span', { class: 'avatar', 'aria-hidden': 'true' }, '?'));
      }
      banner.update(state);
      recovery.update(state);
      notice.update(state);
      sidebar.update(state, prev);
      conversation.update(state, prev);
      pictureViewer.update(state);
      callScreen.update(state, prev);
      if (prev === null || (state.open === null) !== (prev.open === null)) applyNav(state.nav, state.nav);
      if (state.open !== null && prev?.open?.userId !== state.open.userId && state.nav.panel === 'chats') conversation.focusComposer();
    },
    destroy() {
      document.removeEventListener('keydown', onKey);
      pictureViewer.close();
      conversation.destroy();
      settings.destroy();
      callScreen.destroy();
    },
  };
}
